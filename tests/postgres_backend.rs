//! The shared backend suite against PostgreSQL, plus what is particular to it.
//!
//! Each test works on its own table, dropped when the test ends.

mod common;

use std::sync::Arc;

use axum_session_store::{Changes, PostgresBackend, Record, SessionBackend, SessionId};
use common::servers::{self, Fixture};
use serde_json::{json, Value};
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::Connection;
use time::Duration;

const HOUR: Duration = Duration::HOUR;

/// A pool on the test database, or `None` (after the skip-or-fail rule) when it is down.
async fn pool() -> Option<PgPool> {
    let url = servers::postgres_url();
    // One plain connection first: it fails at once when the server is down, where a pool
    // would keep retrying until its acquire timeout.
    match sqlx::PgConnection::connect(&url).await {
        Ok(probe) => probe.close().await.unwrap(),
        Err(error) => {
            servers::unreachable_server("PostgreSQL", error);
            return None;
        }
    }
    let pool = PgPoolOptions::new()
        .max_connections(5)
        .acquire_timeout(std::time::Duration::from_secs(30))
        .connect(&url)
        .await
        .unwrap();
    Some(pool)
}

fn drop_table(table: &str) {
    servers::block_on(async {
        let mut connection = sqlx::PgConnection::connect(&servers::postgres_url())
            .await
            .unwrap();
        sqlx::raw_sql(&format!(r#"DROP TABLE IF EXISTS "{table}""#))
            .execute(&mut connection)
            .await
            .unwrap();
    });
}

/// A migrated backend on a fresh table, its pool and table, and the fixture that drops it.
struct Setup {
    backend: Arc<PostgresBackend>,
    pool: PgPool,
    table: String,
    fixture: Fixture,
}

impl Setup {
    async fn new() -> Option<Self> {
        let pool = pool().await?;
        let table = servers::unique_name("sessions");
        let backend = Arc::new(PostgresBackend::with_table(pool.clone(), &table).unwrap());
        let fixture = Fixture::with_cleanup(backend.clone(), {
            let table = table.clone();
            move || drop_table(&table)
        });
        backend.migrate().await.unwrap();
        Some(Self {
            backend,
            pool,
            table,
            fixture,
        })
    }

    async fn rows(&self) -> i64 {
        sqlx::query_scalar(&format!(r#"SELECT COUNT(*) FROM "{}""#, self.table))
            .fetch_one(&self.pool)
            .await
            .unwrap()
    }
}

async fn postgres() -> Option<Fixture> {
    Some(Setup::new().await?.fixture)
}

backend_suite!(postgres);

fn record(value: Value) -> Record {
    value.as_object().unwrap().clone()
}

fn new_id() -> SessionId {
    SessionId::generate().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrate_twice_and_concurrently() {
    let Some(setup) = Setup::new().await else {
        return;
    };
    setup.backend.migrate().await.unwrap();
    // Two "processes" (own pools) migrating one fresh table at the same moment.
    for _ in 0..3 {
        let table = servers::unique_name("sessions");
        let mut backends = Vec::new();
        for _ in 0..2 {
            let pool = pool().await.unwrap();
            backends.push(PostgresBackend::with_table(pool, &table).unwrap());
        }
        let _drop = Fixture::with_cleanup(setup.backend.clone(), {
            let table = table.clone();
            move || drop_table(&table)
        });
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
    let pool = PgPoolOptions::new()
        .connect_lazy(&servers::postgres_url())
        .unwrap();
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
        let error = PostgresBackend::with_table(pool.clone(), bad).unwrap_err();
        assert!(
            error
                .to_string()
                .contains("ASCII letters, digits and underscores"),
            "{bad:?}: {error}"
        );
    }
    assert!(PostgresBackend::with_table(pool.clone(), &"s".repeat(63)).is_ok());
    let backend = PostgresBackend::new(pool);
    assert_eq!(
        format!("{backend:?}"),
        r#"PostgresBackend { table: "sessions", .. }"#
    );
}

#[tokio::test]
async fn apply_on_a_missing_or_expired_record_creates_nothing() {
    let Some(setup) = Setup::new().await else {
        return;
    };
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
    let Some(setup) = Setup::new().await else {
        return;
    };
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
        1.5
    ]);
    (
        keys.iter().map(|k| (*k).to_owned()).collect(),
        values.as_array().unwrap().clone(),
    )
}

/// Applies `changes` through the backend and to `expected`, and checks they agree.
async fn apply_and_check(
    backend: &PostgresBackend,
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
    let Some(setup) = Setup::new().await else {
        return;
    };
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
async fn nul_characters_are_an_error_not_corruption() {
    let Some(setup) = Setup::new().await else {
        return;
    };
    let backend = &setup.backend;
    let id = new_id();
    assert!(backend
        .create(&id, &record(json!({"x\u{0}": 1})), HOUR)
        .await
        .is_err());
    assert!(backend
        .create(&id, &record(json!({"a": "x\u{0}y"})), HOUR)
        .await
        .is_err());
    assert!(backend
        .create(&id, &record(json!({"a": 1})), HOUR)
        .await
        .unwrap());
    let changes = Changes {
        removed: vec!["x\u{0}".into()],
        ..Changes::default()
    };
    assert!(backend.apply(&id, &changes, HOUR).await.is_err());
    assert_eq!(
        backend.load(&id).await.unwrap(),
        Some(record(json!({"a": 1})))
    );
}
