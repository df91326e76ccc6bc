//! [`MySqlBackend`]: session records in a MySQL or MariaDB table.

use std::fmt;

use sqlx::{MySql, MySqlPool};
use time::Duration;

use super::clock::Clock;
use super::json_edit::JsonDialect;
use super::mysql_migrate;
use super::names::TableName;
use super::table::{Statements, Table};
use super::table_backend::TableBackend;
use crate::backend::batching::{ApplyItem, BatchLimits};
use crate::backend::changes::Changes;
use crate::backend::erased::BoxFuture;
use crate::backend::error::BackendError;
use crate::backend::session_backend::Record;
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
/// index on `expires_at`, and a generated column `user_id` (the JSON's `_user` as
/// `VARBINARY`, indexed: user ids match byte for byte, trailing spaces and case included) that
/// finds the sessions of one user; [`migrate`](Self::migrate) creates it. `data` is text rather than
/// MySQL's `JSON` type so that both servers read and write it the same way.
/// [`apply`](crate::SessionBackend::apply) changes only the keys a request touched, with
/// `JSON_REMOVE`/`JSON_SET` in one `UPDATE`, so concurrent requests on one session keep each
/// other's keys. Each removed key nests one `JSON_REMOVE` call (MariaDB mishandles several
/// paths in one call), so a request removing more than a few hundred keys at once can exceed
/// MariaDB's default `thread_stack` and fail with an error.
///
/// Expired rows never load; [`delete_expired`](crate::backend::DeleteExpired::delete_expired) (or
/// [`spawn_cleanup`](crate::backend::spawn_cleanup)) deletes them. A fresh id that happens to match an
/// expired row not yet deleted is refused by [`create`](crate::SessionBackend::create), and the
/// caller tries another id.
///
/// ```no_run
/// use axum_session_store::backend::MySqlBackend;
/// use axum_session_store::SessionConfig;
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use axum_session_store::sqlx;
/// let pool = sqlx::MySqlPool::connect("mysql://app@localhost/app").await?;
/// let backend = MySqlBackend::new(pool);
/// backend.migrate().await?;
/// # let secret = "an example secret, at least 32 bytes long";
/// let config = SessionConfig::builder()
///     .secret_key(secret)
///     .default_backend(backend)
///     .build()?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
#[cfg_attr(docsrs, doc(cfg(feature = "mysql")))]
#[doc(alias = "MySqlStore")]
pub struct MySqlBackend {
    table: Table<MySql>,
    /// The start of the query that loads a batch, up to its list of ids.
    select_in: String,
    /// How loads and saves are batched.
    limits: BatchLimits,
}

/// The SQL text of each operation but `apply`, made once per table.
fn statements(table: &str) -> Statements {
    Statements {
        load: format!("SELECT data FROM {table} WHERE id = ? AND expires_at > {NOW_MS}"),
        load_for_update: format!(
            "SELECT data FROM {table} WHERE id = ? AND expires_at > {NOW_MS} FOR UPDATE"
        ),
        lock_live: None,
        // A plain INSERT: a duplicate id raises, and the table reads it as "taken". (`IGNORE`
        // would turn every other failure, a foreign key say, into "taken" as well; an upsert
        // that replaced expired rows could not tell "inserted" from "kept", as sqlx counts
        // found rows.)
        create: format!("INSERT INTO {table} (id, data, expires_at) VALUES (?, ?, {NOW_MS} + ?)"),
        id_exists: format!("SELECT CAST(1 AS SIGNED) FROM {table} WHERE id = ?"),
        delete: format!("DELETE FROM {table} WHERE id = ?"),
        delete_expired: format!("DELETE FROM {table} WHERE expires_at <= {NOW_MS}"),
        user_sessions: format!(
            "SELECT CAST(id AS CHAR CHARACTER SET utf8mb4),
                    CAST(JSON_EXTRACT(data, '$._meta') AS CHAR CHARACTER SET utf8mb4),
                    expires_at
             FROM {table} WHERE user_id = ? AND expires_at > {NOW_MS}
             ORDER BY expires_at DESC LIMIT ?"
        ),
        live_after: format!(
            "SELECT CAST(id AS CHAR CHARACTER SET utf8mb4), expires_at
             FROM {table} WHERE id > ? AND expires_at > {NOW_MS}
             ORDER BY id LIMIT ?"
        ),
        lock_user_sessions: lock_user_sessions(table),
        // A plain read would see the transaction's first snapshot (REPEATABLE READ); a locking
        // read sees what is committed now.
        revoke_check: lock_user_sessions(table),
        revoke_user_sessions: format!(
            "DELETE FROM {table} WHERE user_id = ? AND NOT (id <=> ?) AND expires_at > {NOW_MS}"
        ),
    }
}

/// The ids of a user's live rows, locked.
fn lock_user_sessions(table: &str) -> String {
    format!(
        "SELECT CAST(id AS CHAR CHARACTER SET utf8mb4) FROM {table}
         WHERE user_id = ? AND expires_at > {NOW_MS} FOR UPDATE"
    )
}

/// The SQL text of `apply`, around `data`, the [`JsonEdit`](super::JsonEdit) expression.
fn apply_statement(table: &str, data: &str) -> String {
    format!(
        "UPDATE {table} SET data = {data}, expires_at = {NOW_MS} + ?
         WHERE id = ? AND expires_at > {NOW_MS}"
    )
}

impl MySqlBackend {
    /// A backend on the table `sessions`.
    ///
    /// ```no_run
    /// use axum_session_store::backend::MySqlBackend;
    ///
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// use axum_session_store::sqlx;
    /// let pool = sqlx::MySqlPool::connect("mysql://app@localhost/app").await?;
    /// let backend = MySqlBackend::new(pool);
    /// # Ok(()) }
    /// ```
    pub fn new(pool: MySqlPool) -> Self {
        Self::on_table(pool, TableName::default_table())
    }

    /// A backend on the table `table`.
    ///
    /// # Errors
    /// `table` is not 1 to 63 ASCII letters, digits and underscores, starting with a letter
    /// or underscore.
    ///
    /// ```no_run
    /// use axum_session_store::backend::MySqlBackend;
    ///
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// use axum_session_store::sqlx;
    /// let pool = sqlx::MySqlPool::connect("mysql://app@localhost/app").await?;
    /// let backend = MySqlBackend::with_table(pool.clone(), "web_sessions")?;
    /// assert!(MySqlBackend::with_table(pool, "app.sessions").is_err());
    /// # Ok(()) }
    /// ```
    pub fn with_table(pool: MySqlPool, table: &str) -> Result<Self, BackendError> {
        Ok(Self::on_table(pool, TableName::parse(table, false)?))
    }

    fn on_table(pool: MySqlPool, name: TableName) -> Self {
        let table = Table::new(pool, name, '`', statements, Clock::Database, DATABASE);
        let select_in = format!(
            "SELECT CAST(id AS CHAR CHARACTER SET utf8mb4), data FROM {}
             WHERE expires_at > {NOW_MS} AND id IN (",
            table.quoted()
        );
        Self {
            table,
            select_in,
            limits: BatchLimits::default(),
        }
    }

    /// Queues loads and saves within `limits`: 64 to a statement, one statement in flight
    /// (a group commit) unless set. While a load (or a save) is in flight, the loads (saves)
    /// that other requests start meanwhile wait, then go out together as one statement when it
    /// is done, each request getting its own result; otherwise an operation goes out at once.
    ///
    /// ```no_run
    /// use axum_session_store::backend::{BatchLimits, Batching, MySqlBackend};
    ///
    /// # async fn run(pool: axum_session_store::sqlx::Pool<axum_session_store::sqlx::MySql>) {
    /// let backend = MySqlBackend::new(pool).with_batch_limits(BatchLimits::default().max_batch(16));
    /// assert_eq!(backend.batch_limits().batch(), 16);
    /// # }
    /// ```
    #[must_use]
    pub fn with_batch_limits(mut self, limits: BatchLimits) -> Self {
        self.limits = limits;
        self
    }

    /// Bounds every operation to `timeout`, 5 seconds unless set, getting a connection from
    /// the pool included: past it the operation fails with an error whose
    /// [`is_timeout`](crate::BackendError::is_timeout) is true, and the request is answered
    /// `503 Service Unavailable`, rather than wait on a database that does not answer (a
    /// network partition, a hung server) for as long as the pool's `acquire_timeout`, or for
    /// ever. A connection given up so is closed, never reused. A timeout of zero or less is
    /// taken as 1 ms. [`migrate`](Self::migrate) is not bounded.
    ///
    /// ```no_run
    /// use axum_session_store::backend::MySqlBackend;
    ///
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// use axum_session_store::sqlx;
    /// let pool = sqlx::MySqlPool::connect("mysql://app@localhost/app").await?;
    /// let backend = MySqlBackend::new(pool).timeout(time::Duration::seconds(2));
    /// # Ok(()) }
    /// ```
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.table.set_timeout(timeout);
        self
    }

    /// Creates the table, with its indexes, unless it exists; adds the `user_id` column (and
    /// its index) to a table that an older version made, and makes a `user_id` column of an
    /// older version binary (`VARBINARY`), so that user ids match byte for byte.
    ///
    /// Safe to run at every start, from several processes at once: it holds a named lock
    /// (`GET_LOCK`, keyed on the table name) while it looks at the table and changes it.
    /// Converting the `user_id` column rewrites the table once: on a large table, run the new
    /// version's `migrate` at a quiet time.
    ///
    /// # Errors
    /// The database is unreachable, or refused a statement (no permission, say), or another
    /// process held the lock for ten minutes.
    ///
    /// ```no_run
    /// use axum_session_store::backend::MySqlBackend;
    ///
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// use axum_session_store::sqlx;
    /// let pool = sqlx::MySqlPool::connect("mysql://app@localhost/app").await?;
    /// let backend = MySqlBackend::new(pool);
    /// backend.migrate().await?;
    /// # Ok(()) }
    /// ```
    pub async fn migrate(&self) -> Result<(), BackendError> {
        let migration = mysql_migrate::migration(&self.table);
        // Boxed here, where its lifetimes are known: the compiler could not prove a caller's
        // future `Send` otherwise (rust-lang/rust#110338).
        let migrate: BoxFuture<'_, _> = Box::pin(self.table.migrate_locked(&migration));
        migrate.await
    }
}

impl TableBackend for MySqlBackend {
    type Table = Table<MySql>;

    fn table(&self) -> &Table<MySql> {
        &self.table
    }

    fn limits(&self) -> BatchLimits {
        self.limits
    }

    async fn apply_changes(
        &self,
        id: &SessionId,
        changes: &Changes,
        ttl: Duration,
    ) -> Result<bool, BackendError> {
        // sqlx connects with CLIENT_FOUND_ROWS: a matched row counts even if unchanged.
        self.table
            .apply_json(id, changes, ttl, &DIALECT, apply_statement)
            .await
    }

    async fn load_batch(&self, ids: &[SessionId]) -> Vec<Result<Option<Record>, BackendError>> {
        self.table.load_in(&self.select_in, ids).await
    }

    async fn apply_batch(&self, items: &[ApplyItem]) -> Vec<Result<bool, BackendError>> {
        self.table
            .apply_json_many(items, &DIALECT, apply_statement)
            .await
    }
}

impl fmt::Debug for MySqlBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MySqlBackend")
            .field("table", &self.table.name().display())
            .finish_non_exhaustive()
    }
}
