//! What the sqlx backends share: table-name validation, index and lock names, TTLs, record
//! encoding, the queries they all run alike ([`Table`]), and the JSON edit expression SQLite
//! and MySQL use for `apply`.
// With the `sqlx` feature but no driver, nothing here is used.
#![cfg_attr(
    not(any(feature = "postgres", feature = "sqlite", feature = "mysql")),
    allow(dead_code)
)]

#[cfg(feature = "mysql")]
mod mysql;
#[cfg(feature = "postgres")]
mod postgres;
#[cfg(feature = "sqlite")]
mod sqlite;

#[cfg(feature = "mysql")]
pub use mysql::MySqlBackend;
#[cfg(feature = "postgres")]
pub use postgres::PostgresBackend;
#[cfg(feature = "sqlite")]
pub use sqlite::SqliteBackend;

#[cfg(feature = "sqlite")]
use std::time::{SystemTime, UNIX_EPOCH};

use sqlx::query::Query;
use sqlx::{Database, Encode, Executor, FromRow, IntoArguments, Pool, Type};
use time::Duration;

use super::{BackendError, Changes, Record, Regenerated};
use crate::id::SessionId;

/// The table the backends use unless told otherwise.
pub(super) const DEFAULT_TABLE: &str = "sessions";

/// The longest table name accepted: PostgreSQL's identifier limit.
const MAX_TABLE_NAME_LEN: usize = 63;

/// The longest TTL stored: a hundred years, as [`MemoryBackend`](super::MemoryBackend) does,
/// so that adding it to the clock cannot overflow any database's timestamps.
const MAX_TTL_MS: i64 = 100 * 365 * 24 * 3600 * 1000;

/// `name` if every backend accepts it as a table name: `[A-Za-z_][A-Za-z0-9_]{0,62}`.
///
/// The backends put the name into SQL text, quoted (so reserved words work too); it can never
/// contain a quote, which is what makes that safe.
pub(super) fn validate_table_name(name: &str) -> Result<String, BackendError> {
    let mut bytes = name.bytes();
    let valid = name.len() <= MAX_TABLE_NAME_LEN
        && bytes
            .next()
            .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if valid {
        Ok(name.to_owned())
    } else {
        Err(BackendError::msg(format!(
            "invalid session table name {name:?}: use 1 to {MAX_TABLE_NAME_LEN} ASCII letters, \
             digits and underscores, not starting with a digit"
        )))
    }
}

/// The name of the index on `table`'s expiry column: unique per table name and at most 63
/// characters, so PostgreSQL never truncates it into another table's index name.
pub(super) fn index_name(table: &str) -> String {
    const SUFFIX: &str = "_expires_idx";
    if table.len() + SUFFIX.len() <= MAX_TABLE_NAME_LEN {
        format!("{table}{SUFFIX}")
    } else {
        // Table names are ASCII, so any byte index is a char boundary.
        format!("{}_{:016x}_exp", &table[..34], fnv1a(table.as_bytes()))
    }
}

/// A stable 64-bit hash (FNV-1a): the same in every process and Rust version.
pub(super) fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// `ttl` in whole milliseconds, between 0 (already expired) and a hundred years.
pub(super) fn ttl_millis(ttl: Duration) -> i64 {
    let millis = ttl.whole_milliseconds().clamp(0, i128::from(MAX_TTL_MS));
    i64::try_from(millis).unwrap_or(MAX_TTL_MS)
}

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

/// Whose clock decides when a record expires.
#[derive(Clone, Copy, Debug)]
pub(super) enum Clock {
    /// The database's, which the statements read themselves, so every application server
    /// agrees on it. The statements take TTLs in milliseconds.
    #[cfg(any(feature = "postgres", feature = "mysql"))]
    Database,
    /// This process's. The statements take expiry times (Unix milliseconds) and, as their
    /// last parameter, the time now.
    #[cfg(feature = "sqlite")]
    Process,
}

impl Clock {
    /// The time now, if the statements take it as a parameter.
    fn now(self) -> Option<i64> {
        match self {
            #[cfg(any(feature = "postgres", feature = "mysql"))]
            Self::Database => None,
            #[cfg(feature = "sqlite")]
            Self::Process => Some(now_millis()),
        }
    }
}

/// This process's clock in Unix milliseconds.
#[cfg(feature = "sqlite")]
fn now_millis() -> i64 {
    let since_epoch = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(since_epoch.as_millis()).unwrap_or(i64::MAX)
}

/// The expiry parameter for `ttl`: the TTL in milliseconds, or with the time `now` (on
/// [`Clock::Process`]), the expiry time.
fn expiry(now: Option<i64>, ttl: Duration) -> i64 {
    let ttl = ttl_millis(ttl);
    now.map_or(ttl, |now| now.saturating_add(ttl))
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

/// Implements `Debug` and [`SessionBackend`](super::SessionBackend) for `$backend`, a struct
/// whose field `table` is its [`Table`]: `apply` runs the backend's own `apply_changes`
/// method, and every other operation runs as the table runs it.
#[cfg(any(feature = "postgres", feature = "sqlite", feature = "mysql"))]
macro_rules! table_backend {
    ($backend:ident) => {
        const _: () = {
            use std::fmt;

            use time::Duration;

            use crate::backend::{
                BackendError, BoxFuture, Changes, Record, Regenerated, SessionBackend,
            };
            use crate::id::SessionId;

            impl fmt::Debug for $backend {
                fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                    f.debug_struct(stringify!($backend))
                        .field("table", &self.table.name())
                        .finish_non_exhaustive()
                }
            }

            impl SessionBackend for $backend {
                fn load<'a>(
                    &'a self,
                    id: &'a SessionId,
                ) -> BoxFuture<'a, Result<Option<Record>, BackendError>> {
                    Box::pin(self.table.load(id))
                }

                fn create<'a>(
                    &'a self,
                    id: &'a SessionId,
                    record: &'a Record,
                    ttl: Duration,
                ) -> BoxFuture<'a, Result<bool, BackendError>> {
                    Box::pin(self.table.create(id, record, ttl))
                }

                fn apply<'a>(
                    &'a self,
                    id: &'a SessionId,
                    changes: &'a Changes,
                    ttl: Duration,
                ) -> BoxFuture<'a, Result<bool, BackendError>> {
                    Box::pin(self.apply_changes(id, changes, ttl))
                }

                fn regenerate<'a>(
                    &'a self,
                    old: &'a SessionId,
                    new: &'a SessionId,
                    changes: &'a Changes,
                    ttl: Duration,
                ) -> BoxFuture<'a, Result<Regenerated, BackendError>> {
                    Box::pin(self.table.regenerate(old, new, changes, ttl))
                }

                fn delete<'a>(
                    &'a self,
                    id: &'a SessionId,
                ) -> BoxFuture<'a, Result<(), BackendError>> {
                    Box::pin(self.table.delete(id))
                }

                fn delete_expired(&self) -> BoxFuture<'_, Result<u64, BackendError>> {
                    Box::pin(self.table.delete_expired())
                }
            }
        };
    };
}
#[cfg(any(feature = "postgres", feature = "sqlite", feature = "mysql"))]
use table_backend;

#[cfg(any(feature = "sqlite", feature = "mysql"))]
pub(super) use json_edit::{JsonDialect, JsonEdit};

#[cfg(any(feature = "sqlite", feature = "mysql"))]
mod json_edit {
    use std::fmt::Write;

    use sqlx::query::Query;
    use sqlx::{Database, Encode, Type};

    use super::super::{BackendError, Changes};

    /// The most key/value pairs passed to one `json_set` call: SQLite allows 127 arguments
    /// per function call.
    const MAX_PAIRS_PER_SET: usize = 63;

    /// How a database spells the parts of [`JsonEdit`] that differ.
    #[derive(Debug)]
    pub(in crate::backend) struct JsonDialect {
        /// The expression turning a bound JSON text into a JSON value, with one `?`.
        pub(in crate::backend) value: &'static str,
        /// The most paths passed to one `json_remove` call; more make nested calls.
        pub(in crate::backend) paths_per_remove: usize,
        /// Whether a path can address a key containing U+0000. SQLite's cannot: it compares
        /// a decoded `\u0000` as the end of the key, so `"a\u0000b"` would match `"a"`.
        pub(in crate::backend) nul_in_keys: bool,
        /// The database's name, for errors.
        pub(in crate::backend) database: &'static str,
    }

    impl JsonDialect {
        fn path(&self, key: &str) -> Result<String, BackendError> {
            if !self.nul_in_keys && key.contains('\0') {
                return Err(BackendError::msg(format!(
                    "{}: a session key containing the character U+0000 cannot be changed \
                     (its JSON paths cannot address such keys)",
                    self.database
                )));
            }
            Ok(json_path(key))
        }
    }

    /// [`Changes`] as one SQL expression over the `data` column, for SQLite's and MySQL's
    /// `json_remove`/`json_set` (function names are case-insensitive in both), and the values
    /// to bind to its `?` placeholders, in order.
    ///
    /// The expression is `json_set(json_remove(CASE WHEN ? THEN '{}' ELSE data END, paths..),
    /// path, value, ..)`, split into nested calls when there are many keys (or, for
    /// `json_remove`, as the dialect requires). Its text depends only on how many keys are
    /// removed and set, so prepared statements are reused; every key and value is a bound
    /// parameter.
    #[derive(Debug)]
    pub(in crate::backend) struct JsonEdit {
        /// The expression computing the new `data`.
        pub(in crate::backend) sql: String,
        cleared: bool,
        removed: Vec<String>,
        set: Vec<(String, String)>,
    }

    impl JsonEdit {
        /// The edit for `changes`, in `dialect`.
        pub(in crate::backend) fn new(
            changes: &Changes,
            dialect: &JsonDialect,
        ) -> Result<Self, BackendError> {
            let set = changes
                .set
                .iter()
                .map(|(key, value)| {
                    let json = serde_json::to_string(value).map_err(|e| {
                        BackendError::new("could not encode a session value as JSON", e)
                    })?;
                    Ok((dialect.path(key)?, json))
                })
                .collect::<Result<Vec<_>, BackendError>>()?;
            let removed = changes
                .removed
                .iter()
                .map(|key| dialect.path(key))
                .collect::<Result<Vec<_>, BackendError>>()?;

            let mut sql = String::from("CASE WHEN ? THEN '{}' ELSE data END");
            for chunk in removed.chunks(dialect.paths_per_remove.max(1)) {
                sql = format!("json_remove({sql}{})", ", ?".repeat(chunk.len()));
            }
            let pair = format!(", ?, {}", dialect.value);
            for chunk in set.chunks(MAX_PAIRS_PER_SET) {
                sql = format!("json_set({sql}{})", pair.repeat(chunk.len()));
            }
            Ok(Self {
                sql,
                cleared: changes.cleared,
                removed,
                set,
            })
        }

        /// Binds the expression's parameters, in the order its placeholders appear.
        pub(in crate::backend) fn bind<'q, DB>(
            self,
            mut query: Query<'q, DB, <DB as Database>::Arguments<'q>>,
        ) -> Query<'q, DB, <DB as Database>::Arguments<'q>>
        where
            DB: Database,
            bool: Encode<'q, DB> + Type<DB>,
            String: Encode<'q, DB> + Type<DB>,
        {
            query = query.bind(self.cleared);
            for path in self.removed {
                query = query.bind(path);
            }
            for (path, value) in self.set {
                query = query.bind(path).bind(value);
            }
            query
        }
    }

    /// The JSON path of the top-level member `key`, correct for any key.
    ///
    /// The key is written as a quoted member name in which every character but ASCII letters,
    /// digits and `_` is a `\uXXXX` escape (UTF-16 units, so astral characters become
    /// surrogate pairs). Plain JSON string escaping is not enough: SQLite (3.45+) ends a
    /// quoted name at the first `"`, even after a backslash, but decodes `\u0022`; MariaDB
    /// rejects quoted names starting with `-` but accepts `\u002d`. MySQL decodes the quoted
    /// name as a JSON string, so the escapes are right there too.
    pub(in crate::backend) fn json_path(key: &str) -> String {
        let mut path = String::with_capacity(key.len() + 5);
        path.push_str("$.\"");
        for c in key.chars() {
            if c.is_ascii_alphanumeric() || c == '_' {
                path.push(c);
            } else {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    // Writing to a String cannot fail.
                    let _ = write!(path, "\\u{unit:04x}");
                }
            }
        }
        path.push('"');
        path
    }

    #[cfg(test)]
    mod tests {
        use serde_json::json;

        use super::*;

        const DIALECT: JsonDialect = JsonDialect {
            value: "json(?)",
            paths_per_remove: 126,
            nul_in_keys: false,
            database: "SQLite",
        };

        #[test]
        fn paths_escape_everything_but_word_characters() {
            assert_eq!(json_path("a_1"), r#"$."a_1""#);
            assert_eq!(json_path(""), r#"$."""#);
            assert_eq!(json_path(r#"a"b\c"#), r#"$."a\u0022b\u005cc""#);
            assert_eq!(json_path("-1"), r#"$."\u002d1""#);
            assert_eq!(json_path("ü🔑"), r#"$."\u00fc\ud83d\udd11""#);
        }

        #[test]
        fn expression_shape_depends_only_on_counts() {
            let changes = Changes {
                cleared: true,
                removed: vec!["a".into()],
                set: vec![("b".into(), json!(true)), ("c".into(), json!(null))],
            };
            let edit = JsonEdit::new(&changes, &DIALECT).unwrap();
            assert_eq!(
                edit.sql,
                "json_set(json_remove(CASE WHEN ? THEN '{}' ELSE data END, ?), \
                 ?, json(?), ?, json(?))"
            );
            assert_eq!(edit.set[0].1, "true");
            let empty = JsonEdit::new(&Changes::default(), &DIALECT).unwrap();
            assert_eq!(empty.sql, "CASE WHEN ? THEN '{}' ELSE data END");
        }

        #[test]
        fn nul_in_keys_is_refused_where_paths_cannot_address_it() {
            let changes = Changes {
                removed: vec!["a\0b".into()],
                ..Changes::default()
            };
            let error = JsonEdit::new(&changes, &DIALECT).unwrap_err().to_string();
            assert!(
                error.starts_with("SQLite: a session key containing"),
                "{error}"
            );
            let set = Changes {
                set: vec![("\0".into(), json!(1))],
                ..Changes::default()
            };
            assert!(JsonEdit::new(&set, &DIALECT).is_err());
            let anywhere = JsonDialect {
                nul_in_keys: true,
                ..DIALECT
            };
            assert!(JsonEdit::new(&set, &anywhere).is_ok());
        }

        #[test]
        fn many_keys_are_split_into_nested_calls() {
            let changes = Changes {
                cleared: false,
                removed: (0..130).map(|i| format!("r{i}")).collect(),
                set: (0..70).map(|i| (format!("s{i}"), json!(i))).collect(),
            };
            let edit = JsonEdit::new(&changes, &DIALECT).unwrap();
            assert_eq!(edit.sql.matches("json_remove(").count(), 2);
            assert_eq!(edit.sql.matches("json_set(").count(), 2);
            assert_eq!(edit.sql.matches('?').count(), 1 + 130 + 2 * 70);
            let one_by_one = JsonDialect {
                value: "json(?)",
                paths_per_remove: 1,
                nul_in_keys: true,
                database: "MySQL",
            };
            let edit = JsonEdit::new(&changes, &one_by_one).unwrap();
            assert_eq!(edit.sql.matches("json_remove(").count(), 130);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_names() {
        for good in ["sessions", "_x", "S_1", &"a".repeat(63)] {
            assert_eq!(validate_table_name(good).unwrap(), good);
        }
        for bad in ["", "1a", "a-b", "a b", "a;b", "a\"b", "ü", &"a".repeat(64)] {
            let error = validate_table_name(bad).unwrap_err().to_string();
            assert!(
                error.contains("ASCII letters, digits and underscores"),
                "{error}"
            );
        }
    }

    #[test]
    fn index_names_fit_and_differ() {
        assert_eq!(index_name("sessions"), "sessions_expires_idx");
        let long_a = format!("{}a", "x".repeat(62));
        let long_b = format!("{}b", "x".repeat(62));
        assert!(index_name(&long_a).len() <= 63);
        assert_ne!(index_name(&long_a), index_name(&long_b));
    }

    #[test]
    fn ttls_are_clamped() {
        assert_eq!(ttl_millis(Duration::seconds(-5)), 0);
        assert_eq!(ttl_millis(Duration::milliseconds(1500)), 1500);
        assert_eq!(ttl_millis(Duration::MAX), MAX_TTL_MS);
    }
}
