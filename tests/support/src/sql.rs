//! What the SQL backends' tests share: their setup (a migrated backend on a fresh table, and
//! the fixture that removes it), and the tests particular to SQL tables, written once and run
//! against each backend by [`sql_suite!`].
//!
//! What sets the backends apart, as far as these tests are concerned, is in their
//! [`SqlBackend`] implementations at the end of this file.

use crate::UserIds;
use axum_session_store::backend::MySqlBackend;
use axum_session_store::backend::PostgresBackend;
use axum_session_store::backend::SqliteBackend;
use axum_session_store::backend::{Batching, Changes, DeleteExpired, Record, UserIndex};
use axum_session_store::{BackendError, SessionBackend, SessionId};
use serde_json::{json, Value};
use sqlx::pool::PoolOptions;
use sqlx::{Connection, Database, Pool};
use std::fmt;
use std::future::Future;
use std::sync::Arc;
use time::Duration;

use super::blackhole::BlackholeProxy;
use super::partition;
use super::servers::{self, Fixture};

pub const HOUR: Duration = Duration::HOUR;

pub fn record(value: Value) -> Record {
    value.as_object().unwrap().clone()
}

pub fn new_id() -> SessionId {
    SessionId::generate().unwrap()
}

/// Where a backend can keep the character U+0000.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Nul {
    /// Nowhere (PostgreSQL's JSONB cannot hold it): saving it is an error.
    Nowhere,
    /// In values, and in keys that are never changed (SQLite's JSON paths cannot address
    /// them).
    InValues,
    /// Anywhere (MySQL and MariaDB).
    Anywhere,
}

/// One of the sqlx backends, as these tests drive it.
pub trait SqlBackend: Batching + UserIndex + DeleteExpired + Clone + fmt::Debug + 'static {
    type Db: Database;
    /// The type's name, as its `Debug` output starts.
    const NAME: &'static str;
    /// Where the backend can keep U+0000.
    const NUL: Nul;
    /// Whether an expired row not yet deleted still holds its id, so that `create` declines
    /// it, rather than replacing the row.
    const EXPIRED_ROWS_HOLD_THEIR_IDS: bool;
    /// Whether table names may name a schema (`auth.sessions`).
    const SCHEMAS: bool;
    /// The deepest value (levels of arrays) the test servers' JSON functions accept in a save,
    /// when it is below a few thousand.
    const JSON_DEPTH_LIMIT: Option<usize>;
    /// The statements with which the version before user sessions created `table`.
    fn earlier_table(table: &str) -> String;

    fn new(pool: Pool<Self::Db>) -> Self;
    fn with_table(pool: Pool<Self::Db>, table: &str) -> Result<Self, BackendError>;
    fn timeout(self, timeout: Duration) -> Self;
    fn migrate(&self) -> impl Future<Output = Result<(), BackendError>> + Send;
    /// A pool that connects only when used: for tests that need no database.
    fn lazy_pool() -> Pool<Self::Db>;
    /// How many rows `table` holds.
    fn rows(pool: &Pool<Self::Db>, table: &str) -> impl Future<Output = i64> + Send;
    /// What drops `table` from the database `pool` is on: a fixture's cleanup, which runs on
    /// its own thread and runtime.
    fn drop_table(pool: &Pool<Self::Db>, table: &str) -> impl FnOnce() + Send + 'static;
}

/// A pool on the database `options` name, of up to five connections, as an application
/// process would open.
pub async fn pool<DB: Database>(options: <DB::Connection as Connection>::Options) -> Pool<DB> {
    PoolOptions::new()
        .max_connections(5)
        .acquire_timeout(std::time::Duration::from_secs(30))
        .connect_with(options)
        .await
        .unwrap()
}

/// A pool on the database at `url`, or `None` (after the skip-or-fail rule) when `server` is
/// down.
pub async fn server_pool<DB: Database>(server: &str, url: &str) -> Option<Pool<DB>> {
    // One plain connection first: it fails at once when the server is down, where a pool
    // would keep retrying until its acquire timeout.
    match DB::Connection::connect(url).await {
        Ok(probe) => probe.close().await.unwrap(),
        Err(error) => {
            servers::unreachable_server(server, error);
            return None;
        }
    }
    Some(pool(url.parse().unwrap()).await)
}

/// A migrated backend on a fresh table, its pool and table, and the fixture that removes
/// them.
pub struct Setup<B: SqlBackend> {
    pub backend: Arc<B>,
    pub pool: Pool<B::Db>,
    pub table: String,
    pub fixture: Fixture,
}

impl<B: SqlBackend> Setup<B> {
    /// On the database at `url`, whose fixture drops the table; `None` (after the
    /// skip-or-fail rule) when `server` is down.
    pub async fn on_server(server: &str, url: &str) -> Option<Self> {
        let pool = server_pool(server, url).await?;
        let table = servers::unique_name("sessions");
        let cleanup = B::drop_table(&pool, &table);
        Some(Self::migrated(pool, table, cleanup).await)
    }

    /// In `pool`, whose fixture runs `cleanup`.
    pub async fn new(pool: Pool<B::Db>, cleanup: impl FnOnce() + Send + 'static) -> Self {
        Self::migrated(pool, servers::unique_name("sessions"), cleanup).await
    }

    /// On the table `table` (which may name a schema) in `pool`, whose fixture runs `cleanup`.
    pub async fn on_table(
        pool: Pool<B::Db>,
        table: String,
        cleanup: impl FnOnce() + Send + 'static,
    ) -> Self {
        Self::migrated(pool, table, cleanup).await
    }

    async fn migrated(
        pool: Pool<B::Db>,
        table: String,
        cleanup: impl FnOnce() + Send + 'static,
    ) -> Self {
        let backend = Arc::new(B::with_table(pool.clone(), &table).unwrap());
        let fixture =
            Fixture::with_cleanup(backend.clone(), cleanup).deleting_expired(backend.clone());
        backend.migrate().await.unwrap();
        Self {
            backend,
            pool,
            table,
            fixture,
        }
    }

    pub async fn rows(&self) -> i64 {
        B::rows(&self.pool, &self.table).await
    }
}

/// [`partition::answers_503_in_time_and_heals`] for the table of `setup`, on a pool of two
/// connections through a proxy to the server at `url`: with sqlx checking an idle connection
/// before it hands it out (the partition then stalls getting a connection), and without (it
/// stalls a statement on a connection the backend holds, which must be closed, not pooled).
pub async fn a_partition_answers_503_in_time_and_heals<B: SqlBackend>(setup: &Setup<B>, url: &str) {
    for test_before_acquire in [false, true] {
        let proxy = BlackholeProxy::start(partition::upstream(url)).await;
        let options = partition::through(url, &proxy).parse().unwrap();
        let pool = PoolOptions::<B::Db>::new()
            .max_connections(2)
            .test_before_acquire(test_before_acquire)
            .connect_with(options)
            .await
            .unwrap();
        // Both connections open, so that the partition finds every one of them idle in the
        // pool: were a connection given up midway returned to the pool rather than closed,
        // sqlx's check of it would wait on its silent socket for good, and two such would
        // leave no connection once the partition heals.
        let warm = (pool.acquire().await.unwrap(), pool.acquire().await.unwrap());
        drop(warm);
        let backend = B::with_table(pool.clone(), &setup.table)
            .unwrap()
            .timeout(partition::TIMEOUT);
        let settled = || pool.size() == 2 && pool.num_idle() == 2;
        partition::answers_503_in_time_and_heals(Arc::new(backend), &proxy, settled).await;
    }
}

/// Runs each test below against the backend `$backend`, on the setup from `$setup` (an async
/// function returning `Option<Setup<$backend>>`).
#[macro_export]
macro_rules! sql_suite {
    ($backend:ty, $setup:path) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn migrate_twice_and_concurrently() {
            let Some(setup) = $setup().await else { return };
            $crate::sql::migrate_twice_and_concurrently(&setup).await;
        }

        #[tokio::test]
        async fn invalid_table_names_are_refused() {
            $crate::sql::invalid_table_names_are_refused::<$backend>();
        }

        $crate::sql_suite!(@with_setup $setup;
            apply_on_a_missing_or_expired_record_creates_nothing,
            delete_expired_deletes_only_expired_rows,
            awkward_keys_and_values_survive_apply,
            migrate_adds_the_user_column_to_an_earlier_table,
            a_value_too_deep_for_the_database_fails_only_its_own_save,
        );
    };
    (@with_setup $setup:path; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test]
            async fn $case() {
                let Some(setup) = $setup().await else { return };
                $crate::sql::$case(&setup).await;
            }
        )*
    };
}

pub async fn migrate_twice_and_concurrently<B: SqlBackend>(setup: &Setup<B>) {
    {
        // On a current schema, migrate() at every start is quiet: no "already exists" notices.
        let (logs, _capture) = super::Logs::capture();
        setup.backend.migrate().await.unwrap();
        let text = logs.text();
        assert!(
            !text.contains("INFO") && !text.contains("WARN"),
            "migrate() of a current schema logged: {text}"
        );
    }
    // Two "processes" (own pools) migrating one fresh table at the same moment.
    for _ in 0..3 {
        let table = servers::unique_name("sessions");
        let mut backends = Vec::new();
        for _ in 0..2 {
            let pool = pool((*setup.pool.connect_options()).clone()).await;
            backends.push(B::with_table(pool, &table).unwrap());
        }
        let _drop =
            Fixture::with_cleanup(setup.backend.clone(), B::drop_table(&setup.pool, &table));
        let barrier = Arc::new(tokio::sync::Barrier::new(2));
        let tasks: Vec<_> = backends
            .iter()
            .cloned()
            .map(|backend| {
                let barrier = barrier.clone();
                tokio::spawn(async move {
                    barrier.wait().await;
                    backend.migrate().await
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap().unwrap();
        }
        let id = new_id();
        assert!(backends[0]
            .create(&id, &record(json!({"a": 1})), HOUR)
            .await
            .unwrap());
        assert_eq!(
            backends[1].load(&id).await.unwrap(),
            Some(record(json!({"a": 1})))
        );
    }
}

pub fn invalid_table_names_are_refused<B: SqlBackend>() {
    let pool = B::lazy_pool();
    let too_long = "s".repeat(64);
    let schema_qualified = ["public.sessions"];
    let bad_everywhere = [
        "",
        "1sessions",
        "my-sessions",
        "public.",
        "a.b.c",
        "sessions\"; DROP TABLE x; --",
        "public.sessions\"",
        "séances",
        too_long.as_str(),
    ];
    let schemas_refused = if B::SCHEMAS {
        &[][..]
    } else {
        &schema_qualified[..]
    };
    for bad in bad_everywhere.iter().chain(schemas_refused) {
        let error = B::with_table(pool.clone(), bad).unwrap_err();
        assert!(
            error
                .to_string()
                .contains("ASCII letters, digits and underscores"),
            "{bad:?}: {error}"
        );
    }
    assert!(B::with_table(pool.clone(), &"s".repeat(63)).is_ok());
    assert_eq!(
        B::with_table(pool.clone(), "public.sessions").is_ok(),
        B::SCHEMAS
    );
    let backend = B::new(pool);
    assert_eq!(
        format!("{backend:?}"),
        format!(r#"{} {{ table: "sessions", .. }}"#, B::NAME)
    );
}

pub async fn apply_on_a_missing_or_expired_record_creates_nothing<B: SqlBackend>(setup: &Setup<B>) {
    let backend = &setup.backend;
    let changes = Changes::new().set("a", json!(1));
    let missing = new_id();
    assert!(!backend.apply(&missing, &changes, HOUR).await.unwrap());
    assert_eq!(backend.load(&missing).await.unwrap(), None);
    assert_eq!(setup.rows().await, 0);

    let expired = new_id();
    assert!(backend
        .create(&expired, &record(json!({"old": 1})), Duration::ZERO)
        .await
        .unwrap());
    assert_eq!(backend.load(&expired).await.unwrap(), None);
    assert!(!backend.apply(&expired, &changes, HOUR).await.unwrap());
    assert_eq!(backend.load(&expired).await.unwrap(), None);
    if B::EXPIRED_ROWS_HOLD_THEIR_IDS {
        // An expired row not yet deleted still holds its id: create declines (the caller
        // tries a fresh id), and does not revive it.
        assert!(!backend
            .create(&expired, &record(json!({"new": 2})), HOUR)
            .await
            .unwrap());
        assert_eq!(backend.load(&expired).await.unwrap(), None);
        assert_eq!(backend.delete_expired().await.unwrap(), 1);
    }
    // An expired row does not hold its id (or no longer, once deleted): create replaces it.
    assert!(backend
        .create(&expired, &record(json!({"new": 2})), HOUR)
        .await
        .unwrap());
    assert_eq!(
        backend.load(&expired).await.unwrap(),
        Some(record(json!({"new": 2})))
    );
    // A live one does.
    assert!(!backend
        .create(&expired, &record(json!({"other": 3})), HOUR)
        .await
        .unwrap());
    assert_eq!(
        backend.load(&expired).await.unwrap(),
        Some(record(json!({"new": 2})))
    );
    assert_eq!(setup.rows().await, 1);
}

pub async fn delete_expired_deletes_only_expired_rows<B: SqlBackend>(setup: &Setup<B>) {
    let backend = &setup.backend;
    let live = new_id();
    for (id, ttl) in [
        (new_id(), Duration::ZERO),
        (new_id(), Duration::seconds(-10)),
        (live.clone(), HOUR),
    ] {
        assert!(backend
            .create(&id, &record(json!({"a": 1})), ttl)
            .await
            .unwrap());
    }
    assert_eq!(backend.delete_expired().await.unwrap(), 2);
    assert_eq!(backend.delete_expired().await.unwrap(), 0);
    assert_eq!(setup.rows().await, 1);
    assert_eq!(
        backend.load(&live).await.unwrap(),
        Some(record(json!({"a": 1})))
    );
    backend.delete(&live).await.unwrap();
    assert_eq!(setup.rows().await, 0);
}

/// A table that the version before user sessions made, with a session of a user in it:
/// `migrate` adds the column (twice is no harm), and the session is found by its user.
pub async fn migrate_adds_the_user_column_to_an_earlier_table<B: SqlBackend>(setup: &Setup<B>)
where
    for<'c> &'c mut <B::Db as Database>::Connection: sqlx::Executor<'c, Database = B::Db>,
{
    let table = servers::unique_name("earlier");
    let _drop = Fixture::with_cleanup(setup.backend.clone(), B::drop_table(&setup.pool, &table));
    let mut connection = setup.pool.acquire().await.unwrap();
    sqlx::raw_sql(&B::earlier_table(&table))
        .execute(&mut *connection)
        .await
        .unwrap();
    drop(connection);
    let backend = B::with_table(setup.pool.clone(), &table).unwrap();
    let id = new_id();
    let user = format!("user-{}", new_id().as_str());
    assert!(backend
        .create(&id, &record(json!({"_user": user, "a": 1})), HOUR)
        .await
        .unwrap());
    assert!(backend.user_ids(&user).await.is_err(), "no column yet");
    backend.migrate().await.unwrap();
    backend.migrate().await.unwrap();
    assert_eq!(backend.user_ids(&user).await.unwrap(), vec![id.clone()]);
    assert_eq!(
        backend.load(&id).await.unwrap(),
        Some(record(json!({"_user": user, "a": 1})))
    );
    assert_eq!(backend.revoke_user_sessions(&user, None).await.unwrap(), 1);
}

/// A value nested `levels` deep (arrays).
pub fn nested(levels: usize) -> Value {
    (0..levels).fold(json!(1), |inner, _| json!([inner]))
}

/// `apply_many` of a good save, one nested deeper than the database allows, and another good
/// one: the good ones are saved, the deep one fails alone with the database's error and leaves
/// its record as it was. (Where the limit is too deep to reach here, nothing to check.)
pub async fn a_value_too_deep_for_the_database_fails_only_its_own_save<B: SqlBackend>(
    setup: &Setup<B>,
) {
    let Some(limit) = B::JSON_DEPTH_LIMIT else {
        return;
    };
    a_too_deep_save_fails_alone(&*setup.backend, limit, limit + 1).await;
}

/// [`a_value_too_deep_for_the_database_fails_only_its_own_save`] on `backend`, whose database
/// takes values nested `accepted` deep but not `refused` deep.
pub async fn a_too_deep_save_fails_alone(backend: &impl Batching, accepted: usize, refused: usize) {
    let ids: Vec<SessionId> = (0..4).map(|_| new_id()).collect();
    for id in &ids {
        assert!(backend
            .create(id, &record(json!({"n": 0})), HOUR)
            .await
            .unwrap());
    }
    let set = |value: Value| Changes::new().set("v", value);
    // The deepest it takes. (SQLite cannot change such a record again: with the object
    // around it, it nests one level deeper than SQLite reads.)
    assert!(backend
        .apply(&ids[0], &set(nested(accepted)), HOUR)
        .await
        .unwrap());
    let values = [json!("a"), nested(refused), json!("b")];
    let items: Vec<axum_session_store::backend::ApplyItem> = values
        .into_iter()
        .zip(&ids[1..])
        .map(|(value, id)| {
            axum_session_store::backend::ApplyItem::new(id.clone(), set(value), HOUR)
        })
        .collect();
    let results = backend.apply_many(&items).await;
    assert!(matches!(results[0], Ok(true)), "{results:?}");
    assert!(matches!(results[2], Ok(true)), "{results:?}");
    let error = results[1].as_ref().expect_err("too deep");
    let cause = std::error::Error::source(error).map(ToString::to_string);
    assert!(
        error.to_string().contains("could not save a session") && cause.is_some(),
        "{error}: {cause:?}"
    );
    let loaded = |n: usize| backend.load(&ids[n]);
    assert_eq!(
        loaded(1).await.unwrap(),
        Some(record(json!({"n": 0, "v": "a"})))
    );
    assert_eq!(
        loaded(2).await.unwrap(),
        Some(record(json!({"n": 0}))),
        "the deep save left its record as it was"
    );
    assert_eq!(
        loaded(3).await.unwrap(),
        Some(record(json!({"n": 0, "v": "b"})))
    );
}

/// Keys that need quoting in a JSON path, and values of every JSON type, with U+0000
/// wherever the backend can keep it.
fn awkward(nul: Nul) -> (Vec<String>, Vec<Value>) {
    let mut keys = vec![
        "\"",
        "\\",
        ".",
        "$",
        "[0]",
        "",
        "ü日本🎉",
        "a\"b\\c",
        "-1",
        "*",
        "'",
        "a.b[0]",
        "$.x",
        "\n\t",
        " ",
        "\\u0022",
        "null",
    ];
    let more: &[&str] = match nul {
        Nul::Nowhere => &[],
        Nul::InValues => &["x"],
        Nul::Anywhere => &["\u{0}", "x", "x\u{0}y", "x\u{0}z"],
    };
    keys.extend(more);
    let Value::Array(mut values) = json!([
        true,
        false,
        null,
        {"nested": {"a": [1, true, null, "x\"y"], "t": false}, "empty": {}},
        [],
        0.30000000000000004,
        18446744073709551615u64,
        -9007199254740993i64,
        "ü\"\\\n",
        ""
    ]) else {
        unreachable!()
    };
    if nul != Nul::Nowhere {
        values.push(json!("nul \u{0} inside"));
    }
    values.push(json!(1.5));
    (keys.into_iter().map(str::to_owned).collect(), values)
}

/// Applies `changes` through the backend and to `expected`, and checks they agree.
pub async fn apply_and_check(
    backend: &impl SessionBackend,
    id: &SessionId,
    expected: &mut Record,
    changes: Changes,
) {
    assert!(backend.apply(id, &changes, HOUR).await.unwrap());
    changes.apply_to(expected);
    assert_eq!(backend.load(id).await.unwrap().as_ref(), Some(&*expected));
}

pub async fn awkward_keys_and_values_survive_apply<B: SqlBackend>(setup: &Setup<B>) {
    let backend = &*setup.backend;
    let (keys, values) = awkward(B::NUL);
    let id = new_id();
    let mut expected: Record = keys.iter().map(|k| (k.clone(), json!(0))).collect();
    expected.insert("keep".into(), json!(true));
    assert!(backend.create(&id, &expected, HOUR).await.unwrap());
    assert_eq!(backend.load(&id).await.unwrap().as_ref(), Some(&expected));

    // Overwrite every key, with every type of value.
    let set = keys
        .iter()
        .cloned()
        .zip(values.iter().cycle().cloned())
        .fold(Changes::new(), |changes, (key, value)| {
            changes.set(key, value)
        });
    apply_and_check(backend, &id, &mut expected, set).await;

    // Remove half, set the other half to new values, add fresh awkward keys.
    let (remove, keep) = keys.split_at(keys.len() / 2);
    let set = keep
        .iter()
        .cloned()
        .zip(values.iter().rev().cycle().cloned())
        .chain(keys.iter().map(|k| (format!("{k}2"), json!({ k: [k] }))));
    let removed = remove
        .iter()
        .fold(Changes::new(), |changes, key| changes.remove(key.clone()));
    let changes = set.fold(removed, |changes, (key, value)| changes.set(key, value));
    apply_and_check(backend, &id, &mut expected, changes).await;

    // Removing keys that are not there changes nothing.
    let changes = Changes::new().remove("absent").remove("");
    apply_and_check(backend, &id, &mut expected, changes).await;

    if B::NUL == Nul::Anywhere {
        // Keys that differ only after a U+0000 stay apart.
        let changes = Changes::new()
            .remove("x\u{0}y")
            .set("x\u{0}z", json!("z"))
            .set("\u{0}", json!("nul"));
        apply_and_check(backend, &id, &mut expected, changes).await;
        assert_eq!(
            (expected.get("x\u{0}y"), expected.contains_key("x")),
            (None, true)
        );
    }

    // Many keys at once.
    let set = (0..200).fold(Changes::new(), |changes, i| {
        changes.set(format!("k.{i}"), json!(i))
    });
    apply_and_check(backend, &id, &mut expected, set).await;
    let removed = (0..150).fold(Changes::new(), |changes, i| {
        changes.remove(format!("k.{i}"))
    });
    apply_and_check(backend, &id, &mut expected, removed).await;

    // Clear, then set.
    let changes = Changes::new()
        .clear()
        .set("", json!(false))
        .set("\"", json!(null));
    apply_and_check(backend, &id, &mut expected, changes).await;
    assert_eq!(expected, record(json!({"": false, "\"": null})));
}

/// Implements [`SqlBackend`] for `$backend`, whose tables' names `$quote` quotes.
macro_rules! sql_backend {
    (
        $backend:ident: $db:ty,
        quote: $quote:literal,
        nul: $nul:expr,
        expired_rows_hold_their_ids: $hold:literal,
        schemas: $schemas:literal,
        json_depth_limit: $depth:expr,
        earlier_table: $earlier:literal,
        lazy_pool: $lazy_pool:expr $(,)?
    ) => {
        impl SqlBackend for $backend {
            type Db = $db;
            const NAME: &'static str = stringify!($backend);
            const NUL: Nul = $nul;
            const EXPIRED_ROWS_HOLD_THEIR_IDS: bool = $hold;
            const SCHEMAS: bool = $schemas;
            const JSON_DEPTH_LIMIT: Option<usize> = $depth;

            fn earlier_table(table: &str) -> String {
                format!($earlier, table = table)
            }

            fn new(pool: Pool<$db>) -> Self {
                $backend::new(pool)
            }

            fn with_table(pool: Pool<$db>, table: &str) -> Result<Self, BackendError> {
                $backend::with_table(pool, table)
            }

            fn timeout(self, timeout: Duration) -> Self {
                $backend::timeout(self, timeout)
            }

            fn migrate(&self) -> impl Future<Output = Result<(), BackendError>> + Send {
                $backend::migrate(self)
            }

            fn lazy_pool() -> Pool<$db> {
                $lazy_pool
            }

            async fn rows(pool: &Pool<$db>, table: &str) -> i64 {
                let sql = format!("SELECT COUNT(*) FROM {q}{table}{q}", q = $quote);
                sqlx::query_scalar(&sql).fetch_one(pool).await.unwrap()
            }

            fn drop_table(pool: &Pool<$db>, table: &str) -> impl FnOnce() + Send + 'static {
                let options = pool.connect_options();
                let sql = format!("DROP TABLE IF EXISTS {q}{table}{q}", q = $quote);
                move || {
                    servers::block_on(async move {
                        let mut connection = <$db as Database>::Connection::connect_with(&options)
                            .await
                            .unwrap();
                        sqlx::raw_sql(&sql).execute(&mut connection).await.unwrap();
                    })
                }
            }
        }
    };
}
sql_backend! {
    PostgresBackend: sqlx::Postgres,
    quote: '"',
    nul: Nul::Nowhere,
    expired_rows_hold_their_ids: false,
    schemas: true,
    json_depth_limit: None,
    earlier_table: r#"CREATE TABLE "{table}" (
            id TEXT PRIMARY KEY, data JSONB NOT NULL, expires_at TIMESTAMPTZ NOT NULL);
        CREATE INDEX "{table}_expires_idx" ON "{table}" (expires_at);"#,
    lazy_pool: Pool::connect_lazy(&servers::postgres_url()).unwrap(),
}
sql_backend! {
    SqliteBackend: sqlx::Sqlite,
    quote: '"',
    nul: Nul::InValues,
    expired_rows_hold_their_ids: false,
    schemas: false,
    json_depth_limit: Some(1000),
    earlier_table: r#"CREATE TABLE "{table}" (
            id TEXT PRIMARY KEY NOT NULL, data TEXT NOT NULL, expires_at INTEGER NOT NULL);
        CREATE INDEX "{table}_expires_idx" ON "{table}" (expires_at);"#,
    lazy_pool: Pool::connect_lazy("sqlite::memory:").unwrap(),
}
sql_backend! {
    MySqlBackend: sqlx::MySql,
    quote: '`',
    nul: Nul::Anywhere,
    expired_rows_hold_their_ids: true,
    schemas: false,
    json_depth_limit: Some(30),
    earlier_table: "CREATE TABLE `{table}` (
            id VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL PRIMARY KEY,
            data LONGTEXT CHARACTER SET utf8mb4 NOT NULL CHECK (JSON_VALID(data)),
            expires_at BIGINT NOT NULL,
            INDEX `{table}_expires_idx` (expires_at)
        ) ENGINE = InnoDB DEFAULT CHARACTER SET = utf8mb4",
    lazy_pool: Pool::connect_lazy(&servers::mysql_url()).unwrap(),
}
