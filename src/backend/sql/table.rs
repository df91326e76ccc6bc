//! [`Table`]: a backend's session table, its statements, and the queries every SQL backend runs
//! the same way (load, create, move to a new id, delete, delete expired).

use std::future::Future;

use sqlx::query::Query;
use sqlx::{Connection, Database, Encode, Executor, FromRow, IntoArguments, Pool, Type};
use time::{Duration, OffsetDateTime};

use super::clock::{expiry, Clock};
use super::lease::Lease;
use super::names::TableName;
use crate::backend::changes::Changes;
use crate::backend::error::BackendError;
use crate::backend::listing::Listed;
use crate::backend::session_backend::{Record, Regenerated};
use crate::backend::timeout::{self, DEFAULT_TIMEOUT};
use crate::backend::user_index::{latest_first, UserSession};
use crate::id::SessionId;

/// How many times [`Table::revoke_user_sessions`] locks a user's rows before it gives up: each
/// pass past the second needs a user's session moved to a new id while the pass before ran.
const MAX_REVOKE_PASSES: usize = 16;

/// How many times [`Table::revoke_user_sessions`] runs when the database ends it as a
/// deadlock victim (MySQL can, when a move to a new id runs at the same time).
const MAX_REVOKE_ATTEMPTS: usize = 3;

/// Whether `error` says the database rolled the transaction back to break a deadlock or a
/// serialization conflict, so that running it again can succeed.
fn is_retryable(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Database(error) => {
            matches!(error.code().as_deref(), Some("40001" | "40P01"))
        }
        _ => false,
    }
}

/// The stored text of a record.
fn encode_record(record: &Record) -> Result<String, BackendError> {
    serde_json::to_string(record)
        .map_err(|e| BackendError::new("could not encode the session record as JSON", e))
}

/// A record from its stored text.
pub(super) fn decode_record(text: &str) -> Result<Record, BackendError> {
    serde_json::from_str(text)
        .map_err(|e| BackendError::new("the stored session record is not a JSON object", e))
}

/// The SQL text of the operations every backend runs alike, made once per table.
///
/// Their parameters: `load` and `load_for_update` the id; `create` the id, the record's JSON
/// text and the expiry (a TTL or an expiry time, as the [`Clock`] says); `lock_live` the id;
/// `delete` the id; `delete_expired` none; `user_sessions`, `lock_user_sessions` and
/// `revoke_check` the user id; `revoke_user_sessions` the user id and the id to keep (or NULL);
/// `live_after` the id to start after; then, on [`Clock::Process`], all but `delete` and
/// `id_exists` the time now; then `user_sessions` and `live_after` the most rows to return.
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
    /// A user's live rows, those that expire last first, up to a limit: the id, the
    /// metadata's JSON text (or NULL) and the expiry in Unix milliseconds.
    pub(super) user_sessions: String,
    /// Live rows whose id sorts after a given one, in id order, up to a limit: the id and the
    /// expiry in Unix milliseconds.
    pub(super) live_after: String,
    /// The ids of a user's live rows, locked for the rest of the transaction (waiting for
    /// any transaction that holds one).
    pub(super) lock_user_sessions: String,
    /// The ids a revocation checks against those it locked: the user's live rows as a fresh
    /// read sees them (PostgreSQL, whose plain reads take a new snapshot per statement), or
    /// `lock_user_sessions` again where plain reads would not be fresh.
    pub(super) revoke_check: String,
    /// Deletes a user's live rows but one.
    pub(super) revoke_user_sessions: String,
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
///
/// Each operation runs on a connection [`Lease`]d for it, within the table's timeout (see
/// [`bounded`](Self::bounded)).
pub(super) struct Table<DB: Database> {
    pool: Pool<DB>,
    /// The longest an operation may take, getting a connection included.
    timeout: std::time::Duration,
    name: TableName,
    /// The name as the statements spell it.
    quoted: String,
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
            timeout: self.timeout,
            name: self.name.clone(),
            quoted: self.quoted.clone(),
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
    for<'q> Option<&'q str>: Encode<'q, DB> + Type<DB>,
    for<'r> (String,): FromRow<'r, DB::Row>,
    for<'r> (i64,): FromRow<'r, DB::Row>,
    for<'r> (String, Option<String>, i64): FromRow<'r, DB::Row>,
    for<'r> (String, i64): FromRow<'r, DB::Row>,
{
    /// The table `name` in `pool`, written between `quote`s in the statements that
    /// `statements` makes of it, on `clock`, in the database called `database` in errors.
    pub(super) fn new(
        pool: Pool<DB>,
        name: TableName,
        quote: char,
        statements: fn(&str) -> Statements,
        clock: Clock,
        database: &'static str,
    ) -> Self {
        let quoted = name.quoted(quote);
        Self {
            pool,
            timeout: DEFAULT_TIMEOUT,
            sql: statements(&quoted),
            quoted,
            name,
            clock,
            database,
        }
    }

    /// The table's name.
    pub(super) fn name(&self) -> &TableName {
        &self.name
    }

    /// The database's name, for errors.
    #[cfg(feature = "mysql")]
    pub(super) fn database(&self) -> &'static str {
        self.database
    }

    /// The table's name as the statements spell it.
    pub(super) fn quoted(&self) -> &str {
        &self.quoted
    }

    /// Bounds every operation to `timeout` (taken as at least 1 ms).
    pub(super) fn set_timeout(&mut self, timeout: Duration) {
        self.timeout = timeout::positive_std(timeout);
    }

    /// Runs `work`, the operation `action`, within the table's timeout: past it, the work is
    /// dropped (its connection closed, see [`Lease`]) and the result is a
    /// [`BackendError::timeout`].
    pub(super) async fn bounded<T>(
        &self,
        action: &str,
        work: impl Future<Output = Result<T, BackendError>>,
    ) -> Result<T, BackendError> {
        let doing = || {
            format!(
                "{}: could not {action} (table {})",
                self.database,
                self.name.display()
            )
        };
        timeout::bounded(self.timeout, doing, "the database", work).await
    }

    /// [`bounded`](Self::bounded) for `n` operations in one batch: each fails if it runs out.
    #[cfg(any(feature = "postgres", feature = "sqlite", feature = "mysql"))]
    pub(super) async fn bounded_each<T>(
        &self,
        action: &str,
        n: usize,
        work: impl Future<Output = Vec<Result<T, BackendError>>>,
    ) -> Vec<Result<T, BackendError>> {
        self.bounded(action, async { Ok(work.await) })
            .await
            .unwrap_or_else(|error| error.for_each(n))
    }

    /// A connection for one operation.
    pub(super) async fn lease(&self) -> Result<Lease<DB>, BackendError> {
        Lease::acquire(&self.pool)
            .await
            .map_err(self.failed("get a connection from the pool"))
    }

    /// Whose clock the expiry times follow.
    #[cfg(any(feature = "sqlite", feature = "mysql"))]
    pub(super) fn clock(&self) -> Clock {
        self.clock
    }

    /// Maps a failed query to a [`BackendError`] that says which database, which operation
    /// and which table; the sqlx error is its source.
    pub(super) fn failed<'a>(
        &'a self,
        action: &'a str,
    ) -> impl FnOnce(sqlx::Error) -> BackendError + 'a {
        move |error| {
            BackendError::new(
                format!(
                    "{}: could not {action} (table {})",
                    self.database,
                    self.name.display()
                ),
                error,
            )
        }
    }

    /// Runs `ddl`, the statements that create the table, as one simple-protocol query.
    #[cfg(any(feature = "postgres", feature = "sqlite"))]
    pub(super) async fn migrate(&self, ddl: &str) -> Result<(), BackendError> {
        sqlx::raw_sql(ddl)
            .execute(&self.pool)
            .await
            .map_err(self.failed("create the session table"))?;
        Ok(())
    }

    /// Runs `add`, DDL that adds a column to a table made by an older version, unless
    /// `exists` (a query of the table's name that counts the column) finds it there already.
    /// Another process adding it meanwhile is no error.
    #[cfg(feature = "sqlite")]
    pub(super) async fn add_missing_column(
        &self,
        exists: &str,
        add: &str,
    ) -> Result<(), BackendError> {
        let has_column = || async {
            let count: i64 = sqlx::query_scalar(exists)
                .bind(self.name.table())
                .fetch_one(&self.pool)
                .await
                .map_err(self.failed("look up the session table's columns"))?;
            Ok::<_, BackendError>(count > 0)
        };
        if has_column().await? {
            return Ok(());
        }
        match sqlx::raw_sql(add).execute(&self.pool).await {
            Ok(_) => Ok(()),
            Err(_) if has_column().await? => Ok(()),
            Err(error) => Err(self.failed("add the user_id column")(error)),
        }
    }

    /// Runs `query` for `action`, with the time `now` bound last if given, on a connection of
    /// its own; how many rows it changed.
    pub(super) async fn execute<'q>(
        &self,
        query: Query<'q, DB, DB::Arguments<'q>>,
        now: Option<i64>,
        action: &str,
    ) -> Result<u64, BackendError> {
        let mut lease = self.lease().await?;
        let changed = self.execute_on(&mut *lease, query, now, action).await;
        lease.release();
        changed
    }

    /// [`execute`](Self::execute) on `executor` (a leased connection, or a transaction's).
    pub(super) async fn execute_on<'q, 'e, E>(
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
        let mut lease = self.lease().await?;
        let loaded = self.load_on(&mut *lease, &self.sql.load, id).await;
        lease.release();
        loaded
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
        let mut lease = self.lease().await?;
        let created = self.create_on(&mut *lease, id, record, ttl).await;
        lease.release();
        created
    }

    /// [`create`](Self::create) on `connection`.
    async fn create_on(
        &self,
        connection: &mut DB::Connection,
        id: &SessionId,
        record: &Record,
        ttl: Duration,
    ) -> Result<bool, BackendError> {
        let data = encode_record(record)?;
        let now = self.clock.now();
        let mut query = sqlx::query(&self.sql.create)
            .bind(id.as_str())
            .bind(data)
            .bind(expiry(now, ttl));
        if let Some(now) = now {
            query = query.bind(now);
        }
        match query.execute(connection).await {
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

    /// Whether a row `id` exists, live or not, as a connection of its own (outside any
    /// transaction) sees it.
    async fn id_exists(&self, id: &SessionId) -> Result<bool, BackendError> {
        let mut lease = self.lease().await?;
        let found: Result<Option<i64>, _> = sqlx::query_scalar(&self.sql.id_exists)
            .bind(id.as_str())
            .fetch_optional(&mut *lease)
            .await;
        lease.release();
        Ok(found
            .map_err(self.failed("look up a session id"))?
            .is_some())
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
        let mut lease = self.lease().await?;
        let moved = self.regenerate_on(&mut lease, old, new, changes, ttl).await;
        lease.release();
        moved
    }

    /// [`regenerate`](Self::regenerate) on `connection`.
    async fn regenerate_on(
        &self,
        connection: &mut DB::Connection,
        old: &SessionId,
        new: &SessionId,
        changes: &Changes,
        ttl: Duration,
    ) -> Result<Regenerated, BackendError> {
        let mut tx = connection
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

    /// Up to `limit` live rows whose id sorts after `cursor`, in id order, moving `cursor` to
    /// the last; `true` once there are no more.
    pub(super) async fn live_after(
        &self,
        cursor: &mut String,
        limit: usize,
    ) -> Result<(Vec<Listed>, bool), BackendError> {
        let mut query =
            sqlx::query_as::<_, (String, i64)>(&self.sql.live_after).bind(cursor.as_str());
        if let Some(now) = self.clock.now() {
            query = query.bind(now);
        }
        let query = query.bind(i64::try_from(limit).unwrap_or(i64::MAX));
        let mut lease = self.lease().await?;
        let rows = query.fetch_all(&mut *lease).await;
        lease.release();
        let rows = rows.map_err(self.failed("list the live sessions"))?;
        let complete = rows.len() < limit;
        if let Some((last, _)) = rows.last() {
            cursor.clone_from(last);
        }
        let now_ms = OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000;
        let listed = rows
            .into_iter()
            .filter_map(|(id, expires_ms)| {
                // Only this crate writes rows; one by another hand that does not parse is skipped.
                let id = SessionId::parse(&id)?;
                let left = i64::try_from(i128::from(expires_ms) - now_ms).unwrap_or(i64::MAX);
                Some(Listed {
                    id,
                    ttl: Duration::milliseconds(left),
                })
            })
            .collect();
        Ok((listed, complete))
    }

    /// The ids `sql` (one of the user statements) returns for `user_id`, on `executor`.
    async fn user_ids_on<'e, E>(
        &self,
        executor: E,
        sql: &'e str,
        user_id: &'e str,
    ) -> Result<Vec<String>, sqlx::Error>
    where
        E: Executor<'e, Database = DB>,
    {
        let mut query = sqlx::query_scalar(sql).bind(user_id);
        if let Some(now) = self.clock.now() {
            query = query.bind(now);
        }
        query.fetch_all(executor).await
    }

    /// [`UserIndex::user_sessions`](crate::backend::UserIndex::user_sessions): one query.
    pub(super) async fn user_sessions(
        &self,
        user_id: &str,
        limit: usize,
    ) -> Result<Vec<UserSession>, BackendError> {
        let mut query = sqlx::query_as::<_, (String, Option<String>, i64)>(&self.sql.user_sessions)
            .bind(user_id);
        if let Some(now) = self.clock.now() {
            query = query.bind(now);
        }
        let query = query.bind(i64::try_from(limit).unwrap_or(i64::MAX));
        let mut lease = self.lease().await?;
        let rows = query.fetch_all(&mut *lease).await;
        lease.release();
        let rows = rows.map_err(self.failed("list a user's sessions"))?;
        let mut sessions: Vec<UserSession> = rows
            .into_iter()
            .filter_map(|(id, metadata, expires_ms)| {
                // Only this crate writes rows; one by another hand that does not parse is skipped.
                let id = SessionId::parse(&id)?;
                let nanos = i128::from(expires_ms) * 1_000_000;
                let expires_at = OffsetDateTime::from_unix_timestamp_nanos(nanos).ok()?;
                let metadata = metadata.and_then(|text| serde_json::from_str(&text).ok());
                Some(UserSession::new(id, expires_at, metadata))
            })
            .collect();
        // In the same order on every database, whatever its collation.
        latest_first(&mut sessions, limit);
        Ok(sessions)
    }

    /// [`SessionBackend::revoke_user_sessions`](super::SessionBackend::revoke_user_sessions):
    /// one transaction, run again when the database ends it to break a deadlock.
    pub(super) async fn revoke_user_sessions(
        &self,
        user_id: &str,
        except: Option<&SessionId>,
    ) -> Result<u64, BackendError> {
        let mut lease = self.lease().await?;
        let revoked = self.revoke_on(&mut lease, user_id, except).await;
        lease.release();
        revoked
    }

    /// [`revoke_user_sessions`](Self::revoke_user_sessions) on `connection`.
    async fn revoke_on(
        &self,
        connection: &mut DB::Connection,
        user_id: &str,
        except: Option<&SessionId>,
    ) -> Result<u64, BackendError> {
        let mut attempt = 1;
        loop {
            match self.try_revoke(connection, user_id, except).await {
                Ok(Some(revoked)) => return Ok(revoked),
                Ok(None) => {
                    return Err(BackendError::msg(format!(
                        "{}: the sessions of one user kept moving to new ids during \
                         {MAX_REVOKE_PASSES} passes of their revocation (table {}); nothing \
                         was revoked, try again",
                        self.database,
                        self.name.display()
                    )))
                }
                Err(error) if is_retryable(&error) && attempt < MAX_REVOKE_ATTEMPTS => {
                    attempt += 1;
                }
                Err(error) => return Err(self.failed("revoke a user's sessions")(error)),
            }
        }
    }

    /// One attempt at a revocation; `None` when the user's rows kept moving.
    ///
    /// A move to a new id ([`regenerate`](Self::regenerate)) that runs meanwhile must not
    /// carry a session past the revocation. So the user's rows are locked first, pass after
    /// pass, until a check finds no row of the user that is not locked: each pass waits for
    /// the moves holding its rows, and the next sees where they moved. Once every row of the
    /// user is held, no move can start, and one `DELETE` ends them all.
    async fn try_revoke(
        &self,
        connection: &mut DB::Connection,
        user_id: &str,
        except: Option<&SessionId>,
    ) -> Result<Option<u64>, sqlx::Error> {
        let mut tx = connection.begin().await?;
        let mut held = std::collections::BTreeSet::new();
        let mut all_held = false;
        for _ in 0..MAX_REVOKE_PASSES {
            let locked = self
                .user_ids_on(&mut *tx, &self.sql.lock_user_sessions, user_id)
                .await?;
            held.extend(locked);
            let seen = self
                .user_ids_on(&mut *tx, &self.sql.revoke_check, user_id)
                .await?;
            if seen.iter().all(|id| held.contains(id)) {
                all_held = true;
                break;
            }
        }
        if !all_held {
            // Dropping `tx` rolls it back.
            return Ok(None);
        }
        let mut query = sqlx::query(&self.sql.revoke_user_sessions)
            .bind(user_id)
            .bind(except.map(SessionId::as_str));
        if let Some(now) = self.clock.now() {
            query = query.bind(now);
        }
        let revoked = DB::rows_affected(&query.execute(&mut *tx).await?);
        tx.commit().await?;
        Ok(Some(revoked))
    }
}
