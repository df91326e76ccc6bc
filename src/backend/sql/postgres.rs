//! [`PostgresBackend`]: session records in a PostgreSQL table.

use std::fmt;

use sqlx::{PgPool, Postgres};
use time::Duration;

use super::clock::{ttl_millis, Clock};
use super::names::{fnv1a, TableName, EXPIRES_INDEX, USER_INDEX};
use super::postgres_batch::{self, BatchStatements};
use super::postgres_json::set_json;
use super::table::{Statements, Table};
use super::table_backend::TableBackend;
use crate::backend::batching::{ApplyItem, BatchLimits};
use crate::backend::changes::Changes;
use crate::backend::error::{unanswered, BackendError};
use crate::backend::session_backend::Record;
use crate::id::SessionId;

const DATABASE: &str = "PostgreSQL";

/// The column that ties a row to its user.
const USER_COLUMN: &str = "user_id TEXT GENERATED ALWAYS AS (data ->> '_user') STORED";

/// Session records in a PostgreSQL table, through an sqlx [`PgPool`]. Needs the `postgres`
/// feature.
///
/// The table (`sessions` unless [`with_table`](Self::with_table) names another) is
/// `id TEXT PRIMARY KEY, data JSONB NOT NULL, expires_at TIMESTAMPTZ NOT NULL`, with an index
/// on `expires_at`, and a generated column `user_id` (`data ->> '_user'`, indexed) that finds
/// the sessions of one user; [`migrate`](Self::migrate) creates it. Expiry uses the database's clock, so
/// every application server agrees on it. Each operation is one prepared statement;
/// [`apply`](crate::SessionBackend::apply) changes only the keys a request touched, in one `UPDATE`,
/// so concurrent requests on one session keep each other's keys.
///
/// Expired rows never load; [`delete_expired`](crate::backend::DeleteExpired::delete_expired) (or
/// [`spawn_cleanup`](crate::backend::spawn_cleanup)) deletes them. JSONB cannot hold the character
/// U+0000, so a key or string value containing it fails to save with an error.
///
/// ```no_run
/// use axum_session_store::backend::PostgresBackend;
/// use axum_session_store::SessionConfig;
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use axum_session_store::sqlx;
/// let pool = sqlx::PgPool::connect("postgres://app@localhost/app").await?;
/// let backend = PostgresBackend::new(pool);
/// backend.migrate().await?;
/// # let secret = "an example secret, at least 32 bytes long";
/// let config = SessionConfig::builder()
///     .secret_key(secret)
///     .default_backend(backend)
///     .build()?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
#[cfg_attr(docsrs, doc(cfg(feature = "postgres")))]
#[doc(alias = "PostgresStore")]
pub struct PostgresBackend {
    table: Table<Postgres>,
    /// The `UPDATE` that `apply` runs.
    apply: String,
    /// The statements of loads and saves in batches.
    batch: BatchStatements,
    /// How loads and saves are batched.
    limits: BatchLimits,
}

/// The SQL text of each operation but `apply`, made once per table.
fn statements(table: &str) -> Statements {
    Statements {
        load: format!(r#"SELECT data::text FROM {table} WHERE id = $1 AND expires_at > now()"#),
        load_for_update: format!(
            r#"SELECT data::text FROM {table} WHERE id = $1 AND expires_at > now() FOR UPDATE"#
        ),
        lock_live: None,
        // A live row with this id stays; an expired one is replaced.
        create: format!(
            r#"INSERT INTO {table} AS s (id, data, expires_at)
               VALUES ($1, $2::jsonb, now() + $3::bigint * interval '1 millisecond')
               ON CONFLICT (id) DO UPDATE
               SET data = EXCLUDED.data, expires_at = EXCLUDED.expires_at
               WHERE s.expires_at <= now()"#
        ),
        id_exists: format!(r#"SELECT 1::bigint FROM {table} WHERE id = $1"#),
        delete: format!(r#"DELETE FROM {table} WHERE id = $1"#),
        delete_expired: format!(r#"DELETE FROM {table} WHERE expires_at <= now()"#),
        user_sessions: format!(
            r#"SELECT id, (data -> '_meta')::text,
                      (extract(epoch FROM expires_at) * 1000)::bigint
               FROM {table} WHERE user_id = $1 AND expires_at > now()
               ORDER BY expires_at DESC LIMIT $2"#
        ),
        live_after: format!(
            r#"SELECT id, (extract(epoch FROM expires_at) * 1000)::bigint
               FROM {table} WHERE id > $1 AND expires_at > now()
               ORDER BY id LIMIT $2"#
        ),
        lock_user_sessions: format!(
            r#"SELECT id FROM {table} WHERE user_id = $1 AND expires_at > now() FOR UPDATE"#
        ),
        // A plain read in READ COMMITTED sees every transaction committed before it.
        revoke_check: format!(
            r#"SELECT id FROM {table} WHERE user_id = $1 AND expires_at > now()"#
        ),
        revoke_user_sessions: format!(
            r#"DELETE FROM {table}
               WHERE user_id = $1 AND id IS DISTINCT FROM $2 AND expires_at > now()"#
        ),
    }
}

/// The SQL text of `apply`. Clear, then remove, then set: `||` replaces top-level keys
/// wholesale.
fn apply_statement(table: &str) -> String {
    format!(
        r#"UPDATE {table}
           SET data = ((CASE WHEN $2 THEN '{{}}'::jsonb ELSE data END) - $3::text[])
                      || $4::jsonb,
               expires_at = now() + $5::bigint * interval '1 millisecond'
           WHERE id = $1 AND expires_at > now()"#
    )
}

impl PostgresBackend {
    /// A backend on the table `sessions`.
    ///
    /// ```no_run
    /// use axum_session_store::backend::PostgresBackend;
    ///
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// use axum_session_store::sqlx;
    /// let pool = sqlx::PgPool::connect("postgres://app@localhost/app").await?;
    /// let backend = PostgresBackend::new(pool);
    /// # Ok(()) }
    /// ```
    pub fn new(pool: PgPool) -> Self {
        Self::on_table(pool, TableName::default_table())
    }

    /// A backend on the table `table`, which may name its schema: `auth.sessions` (the
    /// schema must exist; [`migrate`](Self::migrate) creates only the table).
    ///
    /// # Errors
    /// `table`, or its schema, is not 1 to 63 ASCII letters, digits and underscores, starting
    /// with a letter or underscore.
    ///
    /// ```no_run
    /// use axum_session_store::backend::PostgresBackend;
    ///
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// use axum_session_store::sqlx;
    /// let pool = sqlx::PgPool::connect("postgres://app@localhost/app").await?;
    /// let backend = PostgresBackend::with_table(pool.clone(), "web_sessions")?;
    /// let in_schema = PostgresBackend::with_table(pool.clone(), "auth.sessions")?;
    /// assert!(PostgresBackend::with_table(pool, "web-sessions").is_err());
    /// # Ok(()) }
    /// ```
    pub fn with_table(pool: PgPool, table: &str) -> Result<Self, BackendError> {
        Ok(Self::on_table(pool, TableName::parse(table, true)?))
    }

    fn on_table(pool: PgPool, name: TableName) -> Self {
        let table = Table::new(pool, name, '"', statements, Clock::Database, DATABASE);
        let apply = apply_statement(table.quoted());
        let batch = BatchStatements::new(table.quoted());
        Self {
            table,
            apply,
            batch,
            limits: BatchLimits::default(),
        }
    }

    /// Queues loads and saves within `limits`: 64 to a statement, one statement in flight
    /// (a group commit) unless set. While a load (or a save) is in flight, the loads (saves)
    /// that other requests start meanwhile wait, then go out together as one statement when it
    /// is done, each request getting its own result; otherwise an operation goes out at once.
    ///
    /// ```no_run
    /// use axum_session_store::backend::{BatchLimits, Batching, PostgresBackend};
    ///
    /// # async fn run(pool: axum_session_store::sqlx::Pool<axum_session_store::sqlx::Postgres>) {
    /// let backend = PostgresBackend::new(pool).with_batch_limits(BatchLimits::default().max_batch(16));
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
    /// use axum_session_store::backend::PostgresBackend;
    ///
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// use axum_session_store::sqlx;
    /// let pool = sqlx::PgPool::connect("postgres://app@localhost/app").await?;
    /// let backend = PostgresBackend::new(pool).timeout(time::Duration::seconds(2));
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
    /// Adding the column rewrites the table once (it is a stored generated column), under an
    /// exclusive lock: on a large table, run the new version's `migrate` at a quiet time.
    ///
    /// Safe to run at every start, from several processes at once: it holds a transaction-level
    /// advisory lock (keyed on the table name) while it creates them, since
    /// `CREATE TABLE IF NOT EXISTS` alone can fail when two sessions race.
    ///
    /// # Errors
    /// The database is unreachable, or refused the statements (no permission, say).
    ///
    /// ```no_run
    /// use axum_session_store::backend::PostgresBackend;
    ///
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// use axum_session_store::sqlx;
    /// let pool = sqlx::PgPool::connect("postgres://app@localhost/app").await?;
    /// let backend = PostgresBackend::new(pool);
    /// backend.migrate().await?;
    /// # Ok(()) }
    /// ```
    pub async fn migrate(&self) -> Result<(), BackendError> {
        let name = self.table.name();
        let table = self.table.quoted();
        let lock_key =
            fnv1a(format!("axum-session-store migrate {}", name.display()).as_bytes()) as i64;
        // One simple-protocol query runs as one implicit transaction, which holds the
        // transaction-level lock until the table and indexes are committed (or rolled back).
        // The column is added only where missing: `ADD COLUMN IF NOT EXISTS` would take the
        // table's exclusive lock at every start.
        // `client_min_messages` keeps a current schema quiet: no "already exists, skipping"
        // notice (which sqlx logs at INFO) at every start.
        let ddl = format!(
            r#"SELECT pg_advisory_xact_lock({lock_key});
               SET LOCAL client_min_messages = warning;
               CREATE TABLE IF NOT EXISTS {table} (
                   id TEXT PRIMARY KEY,
                   data JSONB NOT NULL,
                   expires_at TIMESTAMPTZ NOT NULL,
                   {USER_COLUMN}
               );
               DO $$ BEGIN
                   IF NOT EXISTS (
                       SELECT FROM pg_attribute
                       WHERE attrelid = '{table}'::regclass AND attname = 'user_id'
                           AND NOT attisdropped
                   ) THEN
                       ALTER TABLE {table} ADD COLUMN {USER_COLUMN};
                   END IF;
               END $$;
               CREATE INDEX IF NOT EXISTS "{expires_index}" ON {table} (expires_at);
               CREATE INDEX IF NOT EXISTS "{user_index}" ON {table} (user_id)
                   WHERE user_id IS NOT NULL;"#,
            expires_index = name.index(EXPIRES_INDEX),
            user_index = name.index(USER_INDEX),
        );
        self.table.migrate(&ddl).await
    }
}

impl TableBackend for PostgresBackend {
    type Table = Table<Postgres>;

    fn table(&self) -> &Table<Postgres> {
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
        let set = set_json(changes)?;
        let query = sqlx::query(&self.apply)
            .bind(id.as_str())
            .bind(changes.cleared)
            .bind(changes.removed.as_slice())
            .bind(set)
            .bind(ttl_millis(ttl));
        Ok(self.table.execute(query, None, "save a session").await? == 1)
    }

    async fn load_batch(&self, ids: &[SessionId]) -> Vec<Result<Option<Record>, BackendError>> {
        postgres_batch::load_many(&self.table, &self.batch, ids).await
    }

    /// one statement, but for items that must go on their
    /// own (values holding U+0000, whose error is theirs alone), and, when the database refuses
    /// the statement (which then changed nothing), each item on its own, so that only the one
    /// it refuses fails.
    async fn apply_batch(&self, items: &[ApplyItem]) -> Vec<Result<bool, BackendError>> {
        let split = postgres_batch::split(items);
        let mut results = vec![None; items.len()];
        postgres_batch::apply_batched(&self.table, &self.batch, items, &split, &mut results).await;
        for (n, error) in &split.alone {
            let item = &items[*n];
            results[*n] = Some(match error {
                Some(error) => Err(error.clone()),
                None => self.apply_changes(&item.id, &item.changes, item.ttl).await,
            });
        }
        for (n, item) in items.iter().enumerate() {
            if results[n].is_none() {
                results[n] = Some(self.apply_changes(&item.id, &item.changes, item.ttl).await);
            }
        }
        unanswered(results)
    }
}

impl fmt::Debug for PostgresBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresBackend")
            .field("table", &self.table.name().display())
            .finish_non_exhaustive()
    }
}
