//! [`MySqlBackend`]: session records in a MySQL or MariaDB table.

use std::fmt;

use sqlx::MySqlPool;
use time::Duration;

use super::{
    decode_record, encode_record, index_name, query_failed, ttl_millis, validate_table_name,
    JsonDialect, JsonEdit, DEFAULT_TABLE,
};
use crate::backend::{BackendError, BoxFuture, Changes, Record, SessionBackend};
use crate::id::SessionId;

const DATABASE: &str = "MySQL";

/// The database's clock in Unix milliseconds, whatever the session's time zone.
/// (`UNIX_TIMESTAMP(NOW(3))` would depend on it, and be ambiguous around DST changes.)
const NOW_MS: &str =
    "(TIMESTAMPDIFF(MICROSECOND, '1970-01-01 00:00:00', UTC_TIMESTAMP(6)) DIV 1000)";

/// MariaDB has no `CAST(? AS JSON)`; `JSON_EXTRACT(?, '$')` is a JSON value on both servers.
/// One path per `JSON_REMOVE`: MariaDB 10.11, given several paths as parameters, can fail to
/// remove non-ASCII keys after the first path (nested single-path calls are always right).
const DIALECT: JsonDialect = JsonDialect {
    value: "JSON_EXTRACT(?, '$')",
    paths_per_remove: 1,
    nul_in_keys: true,
    database: DATABASE,
};

/// Session records in a MySQL 8 or MariaDB table, through an sqlx [`MySqlPool`]. Needs the
/// `mysql` feature.
///
/// The table (`sessions` unless [`with_table`](Self::with_table) names another) is an InnoDB
/// table of `id VARCHAR(64)` (ASCII, case-sensitive), `data LONGTEXT` (utf8mb4, checked to be
/// valid JSON) and `expires_at BIGINT` (Unix milliseconds from the database's clock), with an
/// index on `expires_at`; [`migrate`](Self::migrate) creates it. `data` is text rather than
/// MySQL's `JSON` type so that both servers read and write it the same way.
/// [`apply`](SessionBackend::apply) changes only the keys a request touched, with
/// `JSON_REMOVE`/`JSON_SET` in one `UPDATE`, so concurrent requests on one session keep each
/// other's keys. Each removed key nests one `JSON_REMOVE` call (MariaDB mishandles several
/// paths in one call), so a request removing more than a few hundred keys at once can exceed
/// MariaDB's default `thread_stack` and fail with an error.
///
/// Expired rows never load; [`delete_expired`](SessionBackend::delete_expired) (or
/// [`spawn_cleanup`](crate::spawn_cleanup)) deletes them. A fresh id that happens to match an
/// expired row not yet deleted is refused by [`create`](SessionBackend::create), and the
/// caller tries another id.
///
/// ```no_run
/// use axum_session_store::{MySqlBackend, SessionConfig};
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let pool = sqlx::MySqlPool::connect("mysql://app@localhost/app").await?;
/// let backend = MySqlBackend::new(pool);
/// backend.migrate().await?;
/// let config = SessionConfig::builder()
///     .secret_key([7u8; 32])
///     .backend("mysql", backend)
///     .default_backend("mysql")
///     .build()?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct MySqlBackend {
    pool: MySqlPool,
    table: String,
    sql: Statements,
}

/// The SQL text of each operation but `apply`, made once per table.
#[derive(Clone)]
struct Statements {
    load: String,
    create: String,
    delete: String,
    delete_expired: String,
}

impl Statements {
    fn new(table: &str) -> Self {
        Self {
            load: format!("SELECT data FROM `{table}` WHERE id = ? AND expires_at > {NOW_MS}"),
            // `IGNORE` turns only the duplicate key into "nothing inserted" here: the id is
            // always 32 ASCII characters and the data valid JSON. (An upsert that replaced
            // expired rows could not tell "inserted" from "kept", as sqlx counts found rows.)
            create: format!(
                "INSERT IGNORE INTO `{table}` (id, data, expires_at) VALUES (?, ?, {NOW_MS} + ?)"
            ),
            delete: format!("DELETE FROM `{table}` WHERE id = ?"),
            delete_expired: format!("DELETE FROM `{table}` WHERE expires_at <= {NOW_MS}"),
        }
    }
}

impl MySqlBackend {
    /// A backend on the table `sessions`.
    ///
    /// ```no_run
    /// use axum_session_store::MySqlBackend;
    ///
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// let pool = sqlx::MySqlPool::connect("mysql://app@localhost/app").await?;
    /// let backend = MySqlBackend::new(pool);
    /// # Ok(()) }
    /// ```
    pub fn new(pool: MySqlPool) -> Self {
        Self::on_table(pool, DEFAULT_TABLE.to_owned())
    }

    /// A backend on the table `table`.
    ///
    /// # Errors
    /// `table` is not 1 to 63 ASCII letters, digits and underscores, starting with a letter
    /// or underscore.
    ///
    /// ```no_run
    /// use axum_session_store::MySqlBackend;
    ///
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// let pool = sqlx::MySqlPool::connect("mysql://app@localhost/app").await?;
    /// let backend = MySqlBackend::with_table(pool.clone(), "web_sessions")?;
    /// assert!(MySqlBackend::with_table(pool, "app.sessions").is_err());
    /// # Ok(()) }
    /// ```
    pub fn with_table(pool: MySqlPool, table: &str) -> Result<Self, BackendError> {
        Ok(Self::on_table(pool, validate_table_name(table)?))
    }

    fn on_table(pool: MySqlPool, table: String) -> Self {
        let sql = Statements::new(&table);
        Self { pool, table, sql }
    }

    /// Creates the table, with its index on `expires_at`, unless it exists.
    ///
    /// Safe to run at every start, from several processes at once: it is one
    /// `CREATE TABLE IF NOT EXISTS` statement, which the server serialises.
    ///
    /// # Errors
    /// The database is unreachable, or refused the statement (no permission, say).
    ///
    /// ```no_run
    /// use axum_session_store::MySqlBackend;
    ///
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// let pool = sqlx::MySqlPool::connect("mysql://app@localhost/app").await?;
    /// let backend = MySqlBackend::new(pool);
    /// backend.migrate().await?;
    /// # Ok(()) }
    /// ```
    pub async fn migrate(&self) -> Result<(), BackendError> {
        let table = &self.table;
        let ddl = format!(
            "CREATE TABLE IF NOT EXISTS `{table}` (
                 id VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL PRIMARY KEY,
                 data LONGTEXT CHARACTER SET utf8mb4 NOT NULL CHECK (JSON_VALID(data)),
                 expires_at BIGINT NOT NULL,
                 INDEX `{index}` (expires_at)
             ) ENGINE = InnoDB DEFAULT CHARACTER SET = utf8mb4",
            index = index_name(table)
        );
        sqlx::raw_sql(&ddl)
            .execute(&self.pool)
            .await
            .map_err(query_failed(DATABASE, "create the session table", table))?;
        Ok(())
    }
}

impl fmt::Debug for MySqlBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MySqlBackend")
            .field("table", &self.table)
            .finish_non_exhaustive()
    }
}

impl SessionBackend for MySqlBackend {
    fn load<'a>(
        &'a self,
        id: &'a SessionId,
    ) -> BoxFuture<'a, Result<Option<Record>, BackendError>> {
        Box::pin(async move {
            let data: Option<String> = sqlx::query_scalar(&self.sql.load)
                .bind(id.as_str())
                .fetch_optional(&self.pool)
                .await
                .map_err(query_failed(DATABASE, "load a session", &self.table))?;
            data.as_deref().map(decode_record).transpose()
        })
    }

    fn create<'a>(
        &'a self,
        id: &'a SessionId,
        record: &'a Record,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<bool, BackendError>> {
        Box::pin(async move {
            let data = encode_record(record)?;
            let result = sqlx::query(&self.sql.create)
                .bind(id.as_str())
                .bind(data)
                .bind(ttl_millis(ttl))
                .execute(&self.pool)
                .await
                .map_err(query_failed(DATABASE, "create a session", &self.table))?;
            Ok(result.rows_affected() == 1)
        })
    }

    fn apply<'a>(
        &'a self,
        id: &'a SessionId,
        changes: &'a Changes,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<bool, BackendError>> {
        Box::pin(async move {
            let edit = JsonEdit::new(changes, &DIALECT)?;
            let sql = format!(
                "UPDATE `{table}` SET data = {data}, expires_at = {NOW_MS} + ?
                 WHERE id = ? AND expires_at > {NOW_MS}",
                table = self.table,
                data = edit.sql,
            );
            // sqlx connects with CLIENT_FOUND_ROWS: a matched row counts even if unchanged.
            let result = edit
                .bind(sqlx::query(&sql))
                .bind(ttl_millis(ttl))
                .bind(id.as_str())
                .execute(&self.pool)
                .await
                .map_err(query_failed(DATABASE, "save a session", &self.table))?;
            Ok(result.rows_affected() == 1)
        })
    }

    fn delete<'a>(&'a self, id: &'a SessionId) -> BoxFuture<'a, Result<(), BackendError>> {
        Box::pin(async move {
            sqlx::query(&self.sql.delete)
                .bind(id.as_str())
                .execute(&self.pool)
                .await
                .map_err(query_failed(DATABASE, "delete a session", &self.table))?;
            Ok(())
        })
    }

    fn delete_expired(&self) -> BoxFuture<'_, Result<u64, BackendError>> {
        Box::pin(async move {
            let result = sqlx::query(&self.sql.delete_expired)
                .execute(&self.pool)
                .await
                .map_err(query_failed(
                    DATABASE,
                    "delete expired sessions",
                    &self.table,
                ))?;
            Ok(result.rows_affected())
        })
    }
}
