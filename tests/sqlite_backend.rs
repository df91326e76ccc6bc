//! The shared backend suite against SQLite, in a file and in memory, plus what is particular
//! to it.
//!
//! File databases live in their own temporary directory, removed when the test ends.

mod common;

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;

use axum_session_store::{Changes, Record, SessionBackend, SessionId, SqliteBackend};
use common::servers::{self, Fixture};
use serde_json::{json, Value};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions};
use time::Duration;

const HOUR: Duration = Duration::HOUR;

/// A pool on the database file `path`, whose writers wait for each other.
async fn file_pool(path: &Path) -> SqlitePool {
    let options = SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .busy_timeout(std::time::Duration::from_secs(30));
    SqlitePoolOptions::new()
        .max_connections(5)
        .connect_with(options)
        .await
        .unwrap()
}

/// A pool on a private in-memory database: one connection, kept for good.
async fn memory_pool() -> SqlitePool {
    SqlitePoolOptions::new()
        .max_connections(1)
        .min_connections(1)
        .idle_timeout(None)
        .max_lifetime(None)
        .connect_with(SqliteConnectOptions::from_str("sqlite::memory:").unwrap())
        .await
        .unwrap()
}

/// A migrated backend on a fresh table, its pool and table, the database file's directory
/// (none in memory), and the fixture that removes it.
struct Setup {
    backend: Arc<SqliteBackend>,
    pool: SqlitePool,
    table: String,
    dir: Option<PathBuf>,
    fixture: Fixture,
}

impl Setup {
    async fn file() -> Self {
        let dir = std::env::temp_dir().join(servers::unique_name("axum_session_store_sqlite"));
        std::fs::create_dir(&dir).unwrap();
        let cleanup = {
            let dir = dir.clone();
            move || std::fs::remove_dir_all(&dir).unwrap()
        };
        let pool = file_pool(&dir.join("sessions.db")).await;
        Self::migrated(pool, Some(dir), cleanup).await
    }

    async fn memory() -> Self {
        Self::migrated(memory_pool().await, None, || {}).await
    }

    async fn migrated(
        pool: SqlitePool,
        dir: Option<PathBuf>,
        cleanup: impl FnOnce() + Send + 'static,
    ) -> Self {
        let table = servers::unique_name("sessions");
        let backend = Arc::new(SqliteBackend::with_table(pool.clone(), &table).unwrap());
        let fixture = Fixture::with_cleanup(backend.clone(), cleanup);
        backend.migrate().await.unwrap();
        Self {
            backend,
            pool,
            table,
            dir,
            fixture,
        }
    }

    async fn rows(&self) -> i64 {
        sqlx::query_scalar(&format!(r#"SELECT COUNT(*) FROM "{}""#, self.table))
            .fetch_one(&self.pool)
            .await
            .unwrap()
    }
}

mod file {
    use super::*;

    async fn sqlite_file() -> Option<Fixture> {
        Some(Setup::file().await.fixture)
    }

    crate::backend_suite!(sqlite_file);
}

mod memory {
    use super::*;

    async fn sqlite_memory() -> Option<Fixture> {
        Some(Setup::memory().await.fixture)
    }

    crate::backend_suite!(sqlite_memory);
}

fn record(value: Value) -> Record {
    value.as_object().unwrap().clone()
}

fn new_id() -> SessionId {
    SessionId::generate().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrate_twice_and_concurrently() {
    let setup = Setup::file().await;
    setup.backend.migrate().await.unwrap();
    let file = setup.dir.as_ref().unwrap().join("sessions.db");
    // Two "processes" (own pools) migrating one fresh table at the same moment.
    for _ in 0..3 {
        let table = servers::unique_name("sessions");
        let mut backends = Vec::new();
        for _ in 0..2 {
            let pool = file_pool(&file).await;
            backends.push(SqliteBackend::with_table(pool, &table).unwrap());
        }
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

#[tokio::test]
async fn invalid_table_names_are_refused() {
    let pool = SqlitePool::connect_lazy("sqlite::memory:").unwrap();
    let too_long = "s".repeat(64);
    for bad in [
        "",
        "1sessions",
        "my-sessions",
        "public.sessions",
        "sessions\"; DROP TABLE x; --",
        "séances",
        too_long.as_str(),
    ] {
        let error = SqliteBackend::with_table(pool.clone(), bad).unwrap_err();
        assert!(
            error
                .to_string()
                .contains("ASCII letters, digits and underscores"),
            "{bad:?}: {error}"
        );
    }
    assert!(SqliteBackend::with_table(pool.clone(), &"s".repeat(63)).is_ok());
    let backend = SqliteBackend::new(pool);
    assert_eq!(
        format!("{backend:?}"),
        r#"SqliteBackend { table: "sessions", .. }"#
    );
}

#[tokio::test]
async fn apply_on_a_missing_or_expired_record_creates_nothing() {
    let setup = Setup::file().await;
    let backend = &setup.backend;
    let changes = Changes {
        set: vec![("a".into(), json!(1))],
        ..Changes::default()
    };
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
    // An expired row does not hold its id: create replaces it.
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

#[tokio::test]
async fn delete_expired_deletes_only_expired_rows() {
    let setup = Setup::file().await;
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

/// Keys that need quoting in a JSON path, and values of every JSON type.
fn awkward() -> (Vec<String>, Vec<Value>) {
    let keys = [
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
        "x",
    ];
    let values = json!([
        true,
        false,
        null,
        {"nested": {"a": [1, true, null, "x\"y"], "t": false}, "empty": {}},
        [],
        0.30000000000000004,
        18446744073709551615u64,
        -9007199254740993i64,
        "ü\"\\\n",
        "",
        "nul \u{0} inside",
        1.5
    ]);
    (
        keys.iter().map(|k| (*k).to_owned()).collect(),
        values.as_array().unwrap().clone(),
    )
}

/// Applies `changes` through the backend and to `expected`, and checks they agree.
async fn apply_and_check(
    backend: &SqliteBackend,
    id: &SessionId,
    expected: &mut Record,
    changes: Changes,
) {
    assert!(backend.apply(id, &changes, HOUR).await.unwrap());
    changes.apply_to(expected);
    assert_eq!(backend.load(id).await.unwrap().as_ref(), Some(&*expected));
}

#[tokio::test]
async fn awkward_keys_and_values_survive_apply() {
    let setup = Setup::file().await;
    let backend = &setup.backend;
    let (keys, values) = awkward();
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
        .collect();
    let changes = Changes {
        set,
        ..Changes::default()
    };
    apply_and_check(backend, &id, &mut expected, changes).await;

    // Remove half, set the other half to new values, add fresh awkward keys.
    let (remove, keep) = keys.split_at(keys.len() / 2);
    let set = keep
        .iter()
        .cloned()
        .zip(values.iter().rev().cycle().cloned())
        .chain(keys.iter().map(|k| (format!("{k}2"), json!({ k: [k] }))))
        .collect();
    let changes = Changes {
        removed: remove.to_vec(),
        set,
        ..Changes::default()
    };
    apply_and_check(backend, &id, &mut expected, changes).await;

    // Removing keys that are not there changes nothing.
    let changes = Changes {
        removed: vec!["absent".into(), "".into()],
        ..Changes::default()
    };
    apply_and_check(backend, &id, &mut expected, changes).await;

    // Many keys at once.
    let set = (0..200).map(|i| (format!("k.{i}"), json!(i))).collect();
    apply_and_check(
        backend,
        &id,
        &mut expected,
        Changes {
            set,
            ..Changes::default()
        },
    )
    .await;
    let removed = (0..150).map(|i| format!("k.{i}")).collect();
    apply_and_check(
        backend,
        &id,
        &mut expected,
        Changes {
            removed,
            ..Changes::default()
        },
    )
    .await;

    // Clear, then set.
    let changes = Changes {
        cleared: true,
        removed: vec![],
        set: vec![("".into(), json!(false)), ("\"".into(), json!(null))],
    };
    apply_and_check(backend, &id, &mut expected, changes).await;
    assert_eq!(expected, record(json!({"": false, "\"": null})));
}

#[tokio::test]
async fn keys_with_nul_are_kept_but_cannot_be_changed() {
    let setup = Setup::file().await;
    let backend = &setup.backend;
    let id = new_id();
    let stored = record(json!({"a\u{0}b": 1, "a": 2, "\u{0}": 3, "": 4}));
    assert!(backend.create(&id, &stored, HOUR).await.unwrap());
    assert_eq!(backend.load(&id).await.unwrap().as_ref(), Some(&stored));
    for changes in [
        Changes {
            set: vec![("a\u{0}b".into(), json!(5))],
            ..Changes::default()
        },
        Changes {
            removed: vec!["\u{0}".into()],
            ..Changes::default()
        },
    ] {
        let error = backend.apply(&id, &changes, HOUR).await.unwrap_err();
        assert!(error.to_string().contains("U+0000"), "{error}");
    }
    assert_eq!(backend.load(&id).await.unwrap().as_ref(), Some(&stored));
    // Other keys still change, and clearing drops the NUL keys too.
    let mut expected = stored.clone();
    apply_and_check(
        backend,
        &id,
        &mut expected,
        Changes {
            removed: vec!["a".into()],
            set: vec![("".into(), json!("x\u{0}y"))],
            ..Changes::default()
        },
    )
    .await;
    apply_and_check(
        backend,
        &id,
        &mut expected,
        Changes {
            cleared: true,
            ..Changes::default()
        },
    )
    .await;
    assert!(expected.is_empty());
}
