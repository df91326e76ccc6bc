//! [`SqliteBackend`]: session records in an SQLite table.

use std::fmt;

use sqlx::{Sqlite, SqlitePool};
use time::Duration;

use super::clock::Clock;
use super::json_edit::JsonDialect;
use super::names::{TableName, EXPIRES_INDEX, USER_INDEX};
use super::table::{Statements, Table};
use super::table_backend::TableBackend;
use crate::backend::batching::{ApplyItem, BatchLimits};
use crate::backend::changes::Changes;
use crate::backend::error::BackendError;
use crate::backend::session_backend::Record;
use crate::id::SessionId;

const DATABASE: &str = "SQLite";

/// The column that ties a row to its user. (Virtual: SQLite cannot add a stored column.)
const USER_COLUMN: &str =
    "user_id TEXT GENERATED ALWAYS AS (json_extract(data, '$._user')) VIRTUAL";

/// `json(?)` makes a bound text a JSON value; `json_remove` takes up to 126 paths (SQLite
/// allows 127 arguments).
const DIALECT: JsonDialect = JsonDialect {
    value: "json(?)",
    paths_per_remove: 126,
    nul_in_keys: false,
    database: DATABASE,
};

/// Session records in an SQLite table, through an sqlx [`SqlitePool`]. Needs the `sqlite`
/// feature.
///
/// The table (`sessions` unless [`with_table`](Self::with_table) names another) is
/// `id TEXT PRIMARY KEY, data TEXT NOT NULL, expires_at INTEGER NOT NULL` (JSON text, and
/// Unix milliseconds from this process's clock), with an index on `expires_at`, and a generated
/// column `user_id` (`json_extract(data, '$._user')`, indexed) that finds the sessions of one
/// user; [`migrate`](Self::migrate) creates it. [`apply`](crate::SessionBackend::apply) changes only the
/// keys a request touched, with `json_remove`/`json_set` in one `UPDATE`, so concurrent
/// requests on one session keep each other's keys. It needs SQLite 3.45 or later for keys
/// with unusual characters (sqlx's bundled SQLite is newer); a key containing U+0000 can be
/// stored, but changing it fails with an error, as SQLite's JSON paths cannot address it.
///
/// SQLite allows one writer at a time: give the pool a busy timeout (sqlx's default is five
/// seconds) so that concurrent writers wait rather than fail, and consider WAL mode. An
/// in-memory database (`sqlite::memory:`) exists per connection, so its pool must keep
/// exactly one connection open for good.
///
/// Expired rows never load; [`delete_expired`](crate::backend::DeleteExpired::delete_expired) (or
/// [`spawn_cleanup`](crate::backend::spawn_cleanup)) deletes them.
///
/// ```no_run
/// use std::str::FromStr;
/// use axum_session_store::backend::SqliteBackend;
/// use axum_session_store::SessionConfig;
/// use axum_session_store::sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool};
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let options = SqliteConnectOptions::from_str("sqlite://sessions.db")?
///     .create_if_missing(true)
///     .journal_mode(SqliteJournalMode::Wal)
///     .busy_timeout(std::time::Duration::from_secs(10));
/// let backend = SqliteBackend::new(SqlitePool::connect_with(options).await?);
/// backend.migrate().await?;
/// # let secret = "an example secret, at least 32 bytes long";
/// let config = SessionConfig::builder()
///     .secret_key(secret)
///     .default_backend(backend)
///     .build()?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
#[cfg_attr(docsrs, doc(cfg(feature = "sqlite")))]
#[doc(alias = "SqliteStore")]
pub struct SqliteBackend {
    table: Table<Sqlite>,
    /// The start of the query that loads a batch, up to its list of ids.
    select_in: String,
    /// How loads and saves are batched.
    limits: BatchLimits,
}

/// The SQL text of each operation but `apply`, made once per table. Times are Unix
/// milliseconds from this process's clock, bound as parameters.
fn statements(table: &str) -> Statements {
    Statements {
        load: format!(r#"SELECT data FROM {table} WHERE id = ? AND expires_at > ?"#),
        // SQLite has no row locks: a transaction takes the database's write lock with its first
        // write. Writing first, before reading, means a concurrent writer can never slip in
        // between the read and the write (which would fail the transaction instead).
        load_for_update: format!(r#"SELECT data FROM {table} WHERE id = ? AND expires_at > ?"#),
        lock_live: Some(format!(
            r#"UPDATE {table} SET expires_at = expires_at WHERE id = ? AND expires_at > ?"#
        )),
        // A live row with this id stays; an expired one is replaced.
        create: format!(
            r#"INSERT INTO {table} (id, data, expires_at) VALUES (?, ?, ?)
               ON CONFLICT (id) DO UPDATE
               SET data = excluded.data, expires_at = excluded.expires_at
               WHERE {table}.expires_at <= ?"#
        ),
        id_exists: format!(r#"SELECT 1 FROM {table} WHERE id = ?"#),
        delete: format!(r#"DELETE FROM {table} WHERE id = ?"#),
        delete_expired: format!(r#"DELETE FROM {table} WHERE expires_at <= ?"#),
        user_sessions: format!(
            // `json_extract` gives a JSON string as bare text: quoted again, every value
            // reads back as JSON (a sealed record's metadata is a string).
            r#"SELECT id, NULLIF(json_quote(json_extract(data, '$._meta')), 'null'), expires_at
               FROM {table} WHERE user_id = ? AND expires_at > ?
               ORDER BY expires_at DESC LIMIT ?"#
        ),
        live_after: format!(
            r#"SELECT id, expires_at FROM {table} WHERE id > ? AND expires_at > ?
               ORDER BY id LIMIT ?"#
        ),
        lock_user_sessions: lock_user_sessions(table),
        // SQLite has one writer: once the first pass holds the write lock, nothing moves.
        revoke_check: lock_user_sessions(table),
        revoke_user_sessions: format!(
            r#"DELETE FROM {table} WHERE user_id = ? AND id IS NOT ? AND expires_at > ?"#
        ),
    }
}

/// The ids of a user's live rows, by a write that changes nothing: it takes the database's
/// write lock, which SQLite has instead of row locks.
fn lock_user_sessions(table: &str) -> String {
    format!(
        r#"UPDATE {table} SET expires_at = expires_at WHERE user_id = ? AND expires_at > ?
           RETURNING id"#
    )
}

/// The SQL text of `apply`, around `data`, the [`JsonEdit`](super::JsonEdit) expression.
fn apply_statement(table: &str, data: &str) -> String {
    format!(
        r#"UPDATE {table} SET data = {data}, expires_at = ?
           WHERE id = ? AND expires_at > ?"#
    )
}

impl SqliteBackend {
    /// A backend on the table `sessions`.
    ///
    /// ```
    /// use axum_session_store::backend::SqliteBackend;
    /// use axum_session_store::sqlx::sqlite::SqlitePoolOptions;
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// // One connection kept for good: an in-memory database lives as long as its connection.
    /// let pool = SqlitePoolOptions::new()
    ///     .max_connections(1)
    ///     .idle_timeout(None)
    ///     .max_lifetime(None)
    ///     .connect("sqlite::memory:")
    ///     .await?;
    /// let backend = SqliteBackend::new(pool);
    /// backend.migrate().await?;
    /// # Ok(()) }
    /// ```
    pub fn new(pool: SqlitePool) -> Self {
        Self::on_table(pool, TableName::default_table())
    }

    /// A backend on the table `table`.
    ///
    /// # Errors
    /// `table` is not 1 to 63 ASCII letters, digits and underscores, starting with a letter
    /// or underscore.
    ///
    /// ```
    /// use axum_session_store::backend::SqliteBackend;
    /// use axum_session_store::sqlx::SqlitePool;
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let pool = SqlitePool::connect_lazy("sqlite::memory:")?;
    /// let backend = SqliteBackend::with_table(pool.clone(), "web_sessions")?;
    /// assert!(SqliteBackend::with_table(pool, "web-sessions").is_err());
    /// # Ok(()) }
    /// ```
    pub fn with_table(pool: SqlitePool, table: &str) -> Result<Self, BackendError> {
        Ok(Self::on_table(pool, TableName::parse(table, false)?))
    }

    fn on_table(pool: SqlitePool, name: TableName) -> Self {
        let table = Table::new(pool, name, '"', statements, Clock::Process, DATABASE);
        let select_in = format!(
            "SELECT id, data FROM {} WHERE expires_at > ? AND id IN (",
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
    /// use axum_session_store::backend::{BatchLimits, Batching, SqliteBackend};
    ///
    /// # async fn run(pool: axum_session_store::sqlx::Pool<axum_session_store::sqlx::Sqlite>) {
    /// let backend = SqliteBackend::new(pool).with_batch_limits(BatchLimits::default().max_batch(16));
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
    /// ```
    /// use axum_session_store::backend::SqliteBackend;
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use axum_session_store::sqlx;
    /// let pool = sqlx::SqlitePool::connect("sqlite::memory:").await?;
    /// let backend = SqliteBackend::new(pool).timeout(time::Duration::seconds(2));
    /// # Ok(()) }
    /// ```
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.table.set_timeout(timeout);
        self
    }

    /// Creates the table and its indexes, unless they exist, and adds the `user_id` column to
    /// a table that an older version made.
    ///
    /// Safe to run at every start, and from several processes at once: each statement is its
    /// own transaction, and SQLite serialises schema changes (with the pool's busy timeout).
    ///
    /// # Errors
    /// The database cannot be opened or written, or stays locked past the busy timeout.
    ///
    /// ```
    /// use axum_session_store::backend::SqliteBackend;
    /// use axum_session_store::sqlx::sqlite::SqlitePoolOptions;
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let pool = SqlitePoolOptions::new()
    ///     .max_connections(1)
    ///     .idle_timeout(None)
    ///     .max_lifetime(None)
    ///     .connect("sqlite::memory:")
    ///     .await?;
    /// let backend = SqliteBackend::new(pool);
    /// backend.migrate().await?;
    /// backend.migrate().await?; // does nothing the second time
    /// # Ok(()) }
    /// ```
    pub async fn migrate(&self) -> Result<(), BackendError> {
        let (name, table) = (self.table.name(), self.table.quoted());
        // No explicit transaction: a deferred one could not wait for another migrating
        // connection (its read snapshot would be stale), while single statements can.
        let create = format!(
            r#"CREATE TABLE IF NOT EXISTS {table} (
                   id TEXT PRIMARY KEY NOT NULL,
                   data TEXT NOT NULL,
                   expires_at INTEGER NOT NULL,
                   {USER_COLUMN}
               );
               CREATE INDEX IF NOT EXISTS "{index}" ON {table} (expires_at);"#,
            index = name.index(EXPIRES_INDEX)
        );
        self.table.migrate(&create).await?;
        self.table
            .add_missing_column(
                "SELECT COUNT(*) FROM pragma_table_xinfo(?) WHERE name = 'user_id'",
                &format!("ALTER TABLE {table} ADD COLUMN {USER_COLUMN}"),
            )
            .await?;
        let index = format!(
            r#"CREATE INDEX IF NOT EXISTS "{index}" ON {table} (user_id)
               WHERE user_id IS NOT NULL"#,
            index = name.index(USER_INDEX)
        );
        self.table.migrate(&index).await
    }
}

impl TableBackend for SqliteBackend {
    type Table = Table<Sqlite>;

    fn table(&self) -> &Table<Sqlite> {
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

impl fmt::Debug for SqliteBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteBackend")
            .field("table", &self.table.name().display())
            .finish_non_exhaustive()
    }
}
