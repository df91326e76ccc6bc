//! [`Table`]: a backend's session table, its statements, and the queries every SQL backend runs
//! the same way (load, create, move to a new id, delete, delete expired).

use sqlx::query::Query;
use sqlx::{Database, Encode, Executor, FromRow, IntoArguments, Pool, Type};
use time::Duration;

use super::clock::{expiry, Clock};
#[cfg(any(feature = "sqlite", feature = "mysql"))]
use super::json_edit::{JsonDialect, JsonEdit};
use crate::backend::changes::Changes;
use crate::backend::error::BackendError;
use crate::backend::session_backend::{Record, Regenerated};
use crate::id::SessionId;

/// The stored text of a record.
fn encode_record(record: &Record) -> Result<String, BackendError> {
    serde_json::to_string(record)
        .map_err(|e| BackendError::new("could not encode the session record as JSON", e))
}

/// A record from its stored text.
fn decode_record(text: &str) -> Result<Record, BackendError> {
    serde_json::from_str(text)
        .map_err(|e| BackendError::new("the stored session record is not a JSON object", e))
}

/// The SQL text of the operations every backend runs alike, made once per table.
///
/// Their parameters: `load` and `load_for_update` the id; `create` the id, the record's JSON
/// text and the expiry (a TTL or an expiry time, as the [`Clock`] says); `lock_live` the id;
/// `delete` the id; `delete_expired` none; then, on [`Clock::Process`], all but `delete` the
/// time now.
#[derive(Clone, Debug)]
pub(super) struct Statements {
    pub(super) load: String,
    /// `load`, locking the row for the rest of the transaction where the database can
    /// (`FOR UPDATE`).
    pub(super) load_for_update: String,
    /// A write that changes nothing on the live row `id`, for databases that lock by writing
    /// (SQLite): run first in a transaction, it takes the write lock before anything is read,
    /// and tells whether the row is live.
    pub(super) lock_live: Option<String>,
    pub(super) create: String,
    /// `SELECT 1` of the row `id`, live or expired.
    pub(super) id_exists: String,
    pub(super) delete: String,
    pub(super) delete_expired: String,
}

/// The sqlx drivers the backends use, with what the shared queries need of them that sqlx
/// has no trait for.
pub(super) trait Driver: Database {
    /// How many rows a statement changed.
    fn rows_affected(result: &Self::QueryResult) -> u64;
}

#[cfg(feature = "postgres")]
impl Driver for sqlx::Postgres {
    fn rows_affected(result: &Self::QueryResult) -> u64 {
        result.rows_affected()
    }
}

#[cfg(feature = "sqlite")]
impl Driver for sqlx::Sqlite {
    fn rows_affected(result: &Self::QueryResult) -> u64 {
        result.rows_affected()
    }
}

#[cfg(feature = "mysql")]
impl Driver for sqlx::MySql {
    fn rows_affected(result: &Self::QueryResult) -> u64 {
        result.rows_affected()
    }
}

/// A backend's session table: its pool, name and statements, and the queries every backend
/// runs the same way.
pub(super) struct Table<DB: Database> {
    pool: Pool<DB>,
    name: String,
    sql: Statements,
    clock: Clock,
    /// The database's name, for errors.
    database: &'static str,
}

// Not derived: that would need `DB: Clone`.
impl<DB: Database> Clone for Table<DB> {
    fn clone(&self) -> Self {
        Self {
            pool: self.pool.clone(),
            name: self.name.clone(),
            sql: self.sql.clone(),
            clock: self.clock,
            database: self.database,
        }
    }
}

impl<DB> Table<DB>
where
    DB: Driver,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
    for<'q> String: Encode<'q, DB> + Type<DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
    for<'q> bool: Encode<'q, DB> + Type<DB>,
    for<'r> (String,): FromRow<'r, DB::Row>,
    for<'r> (i64,): FromRow<'r, DB::Row>,
{
    /// The table `name` (already validated) in `pool`, with its statements, on `clock`, in
    /// the database called `database` in errors.
    pub(super) fn new(
        pool: Pool<DB>,
        name: String,
        sql: Statements,
        clock: Clock,
        database: &'static str,
    ) -> Self {
        Self {
            pool,
            name,
            sql,
            clock,
            database,
        }
    }

    /// The table's name.
    pub(super) fn name(&self) -> &str {
        &self.name
    }

    /// Maps a failed query to a [`BackendError`] that says which database, which operation
    /// and which table; the sqlx error is its source.
    fn failed<'a>(&'a self, action: &'a str) -> impl FnOnce(sqlx::Error) -> BackendError + 'a {
        move |error| {
            BackendError::new(
                format!(
                    "{}: could not {action} (table {})",
                    self.database, self.name
                ),
                error,
            )
        }
    }

    /// Runs `ddl`, the statements that create the table, as one simple-protocol query.
    pub(super) async fn migrate(&self, ddl: &str) -> Result<(), BackendError> {
        sqlx::raw_sql(ddl)
            .execute(&self.pool)
            .await
            .map_err(self.failed("create the session table"))?;
        Ok(())
    }

    /// Runs `query` for `action`, with the time `now` bound last if given; how many rows it
    /// changed.
    pub(super) async fn execute<'q>(
        &self,
        query: Query<'q, DB, DB::Arguments<'q>>,
        now: Option<i64>,
        action: &str,
    ) -> Result<u64, BackendError> {
        self.execute_on(&self.pool, query, now, action).await
    }

    /// [`execute`](Self::execute) on `executor` (the pool, or a transaction's connection).
    async fn execute_on<'q, 'e, E>(
        &self,
        executor: E,
        query: Query<'q, DB, DB::Arguments<'q>>,
        now: Option<i64>,
        action: &str,
    ) -> Result<u64, BackendError>
    where
        'q: 'e,
        E: Executor<'e, Database = DB>,
    {
        let query = match now {
            Some(now) => query.bind(now),
            None => query,
        };
        let result = query.execute(executor).await.map_err(self.failed(action))?;
        Ok(DB::rows_affected(&result))
    }

    /// [`SessionBackend::load`](super::SessionBackend::load).
    pub(super) async fn load(&self, id: &SessionId) -> Result<Option<Record>, BackendError> {
        self.load_on(&self.pool, &self.sql.load, id).await
    }

    /// Runs `sql`, a `load` statement, on `executor`.
    async fn load_on<'e, E>(
        &'e self,
        executor: E,
        sql: &'e str,
        id: &'e SessionId,
    ) -> Result<Option<Record>, BackendError>
    where
        E: Executor<'e, Database = DB>,
    {
        let mut query = sqlx::query_scalar(sql).bind(id.as_str());
        if let Some(now) = self.clock.now() {
            query = query.bind(now);
        }
        let data: Option<String> = query
            .fetch_optional(executor)
            .await
            .map_err(self.failed("load a session"))?;
        data.as_deref().map(decode_record).transpose()
    }

    /// [`SessionBackend::create`](super::SessionBackend::create).
    pub(super) async fn create(
        &self,
        id: &SessionId,
        record: &Record,
        ttl: Duration,
    ) -> Result<bool, BackendError> {
        self.create_on(&self.pool, id, record, ttl).await
    }

    /// [`create`](Self::create) on `executor`.
    async fn create_on<'e, E>(
        &'e self,
        executor: E,
        id: &'e SessionId,
        record: &Record,
        ttl: Duration,
    ) -> Result<bool, BackendError>
    where
        E: Executor<'e, Database = DB>,
    {
        let data = encode_record(record)?;
        let now = self.clock.now();
        let mut query = sqlx::query(&self.sql.create)
            .bind(id.as_str())
            .bind(data)
            .bind(expiry(now, ttl));
        if let Some(now) = now {
            query = query.bind(now);
        }
        match query.execute(executor).await {
            Ok(result) => Ok(DB::rows_affected(&result) == 1),
            // A statement that raises on a duplicate key (MySQL's plain INSERT) says "taken"
            // only when the duplicate is this id; any other unique index is a real error.
            Err(sqlx::Error::Database(error))
                if error.is_unique_violation() && self.id_exists(id).await? =>
            {
                Ok(false)
            }
            Err(error) => Err(self.failed("create a session")(error)),
        }
    }

    /// Whether a row `id` exists, live or not.
    async fn id_exists(&self, id: &SessionId) -> Result<bool, BackendError> {
        let found: Option<i64> = sqlx::query_scalar(&self.sql.id_exists)
            .bind(id.as_str())
            .fetch_optional(&self.pool)
            .await
            .map_err(self.failed("look up a session id"))?;
        Ok(found.is_some())
    }

    /// [`SessionBackend::regenerate`](super::SessionBackend::regenerate), in one transaction:
    /// the live row `old` is locked (so a concurrent change waits for the move, then finds no
    /// row), read, changed, inserted under `new`, and deleted.
    pub(super) async fn regenerate(
        &self,
        old: &SessionId,
        new: &SessionId,
        changes: &Changes,
        ttl: Duration,
    ) -> Result<Regenerated, BackendError> {
        let mut tx = self
            .pool
            .begin()
            .await
            .map_err(self.failed("start a transaction"))?;
        // Returning early drops `tx`, which rolls it back.
        if let Some(lock) = &self.sql.lock_live {
            let query = sqlx::query(lock).bind(old.as_str());
            let locked = self
                .execute_on(&mut *tx, query, self.clock.now(), "lock a session")
                .await?;
            if locked == 0 {
                return Ok(Regenerated::Gone);
            }
        }
        let Some(mut record) = self
            .load_on(&mut *tx, &self.sql.load_for_update, old)
            .await?
        else {
            return Ok(Regenerated::Gone);
        };
        changes.apply_to(&mut record);
        if !self.create_on(&mut *tx, new, &record, ttl).await? {
            return Ok(Regenerated::Taken);
        }
        let delete = sqlx::query(&self.sql.delete).bind(old.as_str());
        self.execute_on(&mut *tx, delete, None, "delete the replaced session")
            .await?;
        tx.commit()
            .await
            .map_err(self.failed("commit the move of a session"))?;
        Ok(Regenerated::Moved)
    }

    /// [`SessionBackend::apply`](super::SessionBackend::apply) as a [`JsonEdit`] in
    /// `dialect`, in the `UPDATE` that `update` makes from the table's name and the edit's
    /// expression. Its parameters: the edit's, the expiry, the id, then on
    /// [`Clock::Process`] the time now.
    #[cfg(any(feature = "sqlite", feature = "mysql"))]
    pub(super) async fn apply_json(
        &self,
        id: &SessionId,
        changes: &Changes,
        ttl: Duration,
        dialect: &JsonDialect,
        update: fn(&str, &str) -> String,
    ) -> Result<bool, BackendError> {
        let edit = JsonEdit::new(changes, dialect)?;
        let sql = update(&self.name, &edit.sql);
        let now = self.clock.now();
        let query = edit
            .bind(sqlx::query(&sql))
            .bind(expiry(now, ttl))
            .bind(id.as_str());
        Ok(self.execute(query, now, "save a session").await? == 1)
    }

    /// [`SessionBackend::delete`](super::SessionBackend::delete).
    pub(super) async fn delete(&self, id: &SessionId) -> Result<(), BackendError> {
        let query = sqlx::query(&self.sql.delete).bind(id.as_str());
        self.execute(query, None, "delete a session").await?;
        Ok(())
    }

    /// [`SessionBackend::delete_expired`](super::SessionBackend::delete_expired).
    pub(super) async fn delete_expired(&self) -> Result<u64, BackendError> {
        let query = sqlx::query(&self.sql.delete_expired);
        self.execute(query, self.clock.now(), "delete expired sessions")
            .await
    }
}
