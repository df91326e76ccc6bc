//! `Storage::sealed`: records sealed at rest. The published suite passes on sealed storages of
//! every built-in backend; what Redis and each SQL table hold names no session key, value or
//! user id; a secret rotation re-seals on the next save; a record no configured secret opens,
//! or one written before sealing, is a new session (and a `MigratingBackend` moves a plain
//! store into a sealed one without logging anyone out).

use crate::common;
use crate::{backend_suite, backend_suite_in_one_test};

use std::sync::Arc;

use axum::Router;
use axum_session_store::backend::{
    MemoryBackend, MigratingBackend, MySqlBackend, PostgresBackend, SqliteBackend, Storage,
};
use axum_session_store::{ConfigError, SessionConfig};
use common::servers::{self, Fixture};
use common::sql::Setup;
use common::{app, dumped, Client, SECRET};
use serde_json::Value;

/// What the tests write, none of which may appear in what a store holds.
const KEY: &str = "favourite_colour";
const VALUE: &str = "ultramarine";
const USER: &str = "ada.lovelace@example.org";
const LABEL: &str = "Ada's laptop";

const NEW_SECRET: &[u8] = b"the secret after the rotation, 32 bytes or more";

fn config(storage: impl Into<Storage>, secret: &[u8], fallbacks: &[&[u8]]) -> SessionConfig {
    SessionConfig::builder()
        .secret_key(secret)
        .fallback_keys(fallbacks)
        .default_backend(storage)
        .metadata(Default::default())
        .build()
        .unwrap()
}

fn layered(storage: impl Into<Storage>, secret: &[u8], fallbacks: &[&[u8]]) -> Router {
    app::layered(config(storage, secret, fallbacks))
}

/// The same browser, talking to the app deployed again on `router`.
fn redeployed(client: Client, router: Router) -> Client {
    let mut again = Client::new(router);
    again.jar = client.jar;
    again
}

/// A browser signed in as [`USER`] on `router`, with [`KEY`] = [`VALUE`] and [`LABEL`].
async fn signed_in(router: Router) -> Client {
    let mut client = Client::new(router);
    client.get(&format!("/set?{KEY}={VALUE}")).await;
    client.get(&format!("/login-as/{USER}")).await;
    let label = LABEL.replace(' ', "%20").replace('\'', "%27");
    assert_eq!(client.get(&format!("/label/{label}")).await.status, 200);
    client
}

/// What the browser's session holds, and what its devices page lists.
async fn seen(client: &mut Client) -> (Value, Value) {
    let values = dumped(&client.get("/dump").await)["values"].clone();
    let devices = client.get("/device-list").await;
    assert_eq!(devices.status, 200, "{}", devices.body);
    (values, serde_json::from_str(&devices.body).unwrap())
}

/// Signs a browser in on a sealed `storage`, checks what it reads back, and that `stored`
/// (everything the store holds afterwards, as text) names nothing it wrote.
async fn nothing_readable_in<F, Fut>(storage: Storage, stored: F)
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = String>,
{
    let mut client = signed_in(layered(storage.clone(), SECRET, &[])).await;
    let (values, devices) = seen(&mut client).await;
    assert_eq!(values[KEY], VALUE);
    assert_eq!(devices[0]["label"], LABEL, "{devices}");
    assert_eq!(devices[0]["current"], true);
    let stored = stored().await;
    // Admin work outside a request goes through the storage, which knows the user key.
    let listed = storage.user_sessions(USER, 10).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(
        listed[0].metadata.as_ref().map(|m| m["label"].clone()),
        Some(LABEL.into())
    );
    assert_eq!(storage.revoke_user_sessions(USER, None).await.unwrap(), 1);
    assert_eq!(
        dumped(&client.get("/dump").await)["is_new"],
        true,
        "revoked"
    );
    assert!(!stored.is_empty(), "the store holds the session");
    for plain in [KEY, VALUE, USER, "ada", "laptop", "Mozilla"] {
        assert!(!stored.contains(plain), "{plain:?} is readable in {stored}");
    }
}

mod memory_suite {
    use super::*;

    async fn sealed_memory() -> Option<Fixture> {
        Some(Fixture::new(Arc::new(MemoryBackend::new())).sealing())
    }

    backend_suite!(sealed_memory);
}

async fn sealed_redis() -> Option<Fixture> {
    let (backend, _, cleanup) = servers::shared_redis("sealed").await?;
    Some(Fixture::with_cleanup(Arc::new(backend), cleanup).sealing())
}

backend_suite_in_one_test!(redis_passes_the_suite_sealed, sealed_redis);

async fn sealed_sql<B: common::sql::SqlBackend>(setup: Option<Setup<B>>) -> Option<Fixture> {
    let mut setup = setup?;
    setup.fixture.sealed = true;
    Some(setup.fixture)
}

async fn sealed_postgres() -> Option<Fixture> {
    sealed_sql(Setup::<PostgresBackend>::on_server("PostgreSQL", &servers::postgres_url()).await)
        .await
}

async fn sealed_mysql() -> Option<Fixture> {
    sealed_sql(Setup::<MySqlBackend>::on_server("MySQL", &servers::mysql_url()).await).await
}

backend_suite_in_one_test!(postgres_passes_the_suite_sealed, sealed_postgres);
backend_suite_in_one_test!(mysql_passes_the_suite_sealed, sealed_mysql);

#[tokio::test]
async fn redis_holds_nothing_readable() {
    let Some((backend, prefix, _cleanup)) = servers::shared_redis("sealed").await else {
        return;
    };
    let _cleanup = Fixture::with_cleanup(Arc::new(backend.clone()), _cleanup);
    nothing_readable_in(Storage::from(backend).sealed(), || async {
        use deadpool_redis::redis::{self, AsyncCommands};
        let client = redis::Client::open(servers::redis_url()).unwrap();
        let mut conn = client.get_multiplexed_async_connection().await.unwrap();
        let keys: Vec<String> = conn.keys(format!("{prefix}*")).await.unwrap();
        let mut stored = String::new();
        for key in keys {
            let kind: String = redis::cmd("TYPE")
                .arg(&key)
                .query_async(&mut conn)
                .await
                .unwrap();
            let contents: Vec<String> = match kind.as_str() {
                "hash" => conn.hgetall::<_, Vec<String>>(&key).await.unwrap(),
                "zset" => conn.zrange(&key, 0, -1).await.unwrap(),
                other => panic!("a {other} under {key}"),
            };
            stored.push_str(&format!("{key} {contents:?}\n"));
        }
        stored
    })
    .await;
}

/// [`nothing_readable_in`] the table of `$setup` (an `Option<Setup<_>>`), whose rows `$select`
/// (with `{}` for the table) gives as text.
macro_rules! sql_holds_nothing_readable {
    ($setup:expr, $select:literal) => {{
        let Some(setup) = $setup else { return };
        let sql = format!($select, setup.table);
        let (pool, sql) = (&setup.pool, &sql);
        nothing_readable_in(
            Storage::from(setup.backend.as_ref().clone()).sealed(),
            move || async move {
                let rows: Vec<String> = sqlx::query_scalar(sql).fetch_all(pool).await.unwrap();
                rows.join("\n")
            },
        )
        .await;
    }};
}

#[tokio::test]
async fn postgres_holds_nothing_readable() {
    sql_holds_nothing_readable!(
        Setup::<PostgresBackend>::on_server("PostgreSQL", &servers::postgres_url()).await,
        r#"SELECT id || '|' || data::text || '|' || COALESCE(user_id, '') FROM "{}""#
    );
}

#[tokio::test]
async fn mysql_holds_nothing_readable() {
    sql_holds_nothing_readable!(
        Setup::<MySqlBackend>::on_server("MySQL", &servers::mysql_url()).await,
        "SELECT CONCAT(id, '|', CAST(data AS CHAR), '|', COALESCE(CAST(user_id AS CHAR), '')) \
         FROM `{}`"
    );
}

#[tokio::test]
async fn sqlite_holds_nothing_readable() {
    let dir = std::env::temp_dir().join(servers::unique_name("axum_session_store_sealed"));
    std::fs::create_dir_all(&dir).unwrap();
    let options = format!("sqlite://{}?mode=rwc", dir.join("sessions.db").display())
        .parse::<sqlx::sqlite::SqliteConnectOptions>()
        .unwrap();
    let pool = common::sql::pool(options).await;
    let setup = Setup::<SqliteBackend>::new(pool, move || {
        let _ = std::fs::remove_dir_all(&dir);
    })
    .await;
    sql_holds_nothing_readable!(
        Some(setup),
        r#"SELECT id || '|' || data || '|' || COALESCE(user_id, '') FROM "{}""#
    );
}

#[tokio::test]
async fn a_rotated_secret_reads_old_records_and_reseals_them_on_their_next_request() {
    let memory = MemoryBackend::new();
    let before = || layered(Storage::from(memory.clone()).sealed(), SECRET, &[]);
    let writer = signed_in(before()).await;
    let reader = signed_in(before()).await;
    let mut idle = Client::new(before());
    idle.get("/set?idle=1").await;

    // The new secret, the old one a fallback: every record reads; a request that saves and
    // one that only reads both seal their record's key again, as their cookie is signed again.
    let rotated = layered(
        Storage::from(memory.clone()).sealed(),
        NEW_SECRET,
        &[SECRET],
    );
    let mut writer = redeployed(writer, rotated.clone());
    let (values, devices) = seen(&mut writer).await;
    assert_eq!(values[KEY], VALUE);
    assert_eq!(devices.as_array().map(Vec::len), Some(2), "{devices}");
    assert_eq!(devices[0]["label"], LABEL, "listed under the old user key");
    writer.get("/set?after=rotation").await;
    let mut reader = redeployed(reader, rotated);
    assert_eq!(dumped(&reader.get("/dump").await)["values"][KEY], VALUE);

    // The old secret gone: both are whole, user index and metadata included; the idle one,
    // never requested since, is a new session (and no error).
    let after = layered(Storage::from(memory.clone()).sealed(), NEW_SECRET, &[]);
    let mut writer = redeployed(writer, after.clone());
    let (values, devices) = seen(&mut writer).await;
    assert_eq!(values[KEY], VALUE);
    assert_eq!(values["after"], "rotation");
    assert_eq!(devices.as_array().map(Vec::len), Some(2), "{devices}");
    assert_eq!(devices[1]["label"], LABEL, "{devices}");
    let mut reader = redeployed(reader, after.clone());
    assert_eq!(seen(&mut reader).await.0[KEY], VALUE);
    let mut idle = redeployed(idle, after);
    let reply = idle.get("/dump").await;
    assert_eq!(reply.status, 200);
    assert_eq!(dumped(&reply)["values"], serde_json::json!({}));
    assert_eq!(dumped(&reply)["is_new"], true);
}

#[tokio::test]
async fn a_record_of_an_unknown_secret_or_written_plain_is_a_new_session() {
    let memory = MemoryBackend::new();
    let other: &[u8] = b"another app secret, 32 bytes or more!!!";
    let foreign = signed_in(layered(Storage::from(memory.clone()).sealed(), other, &[])).await;
    let mut plain = Client::new(layered(memory.clone(), SECRET, &[]));
    // The same id cookie key: only the record stands between them.
    plain.get("/set?plain=1").await;
    let sealed = layered(Storage::from(memory.clone()).sealed(), SECRET, &[]);
    for client in [foreign, plain] {
        let mut client = redeployed(client, sealed.clone());
        let reply = client.get("/dump").await;
        assert_eq!(reply.status, 200);
        assert_eq!(dumped(&reply)["values"], serde_json::json!({}));
    }
}

#[tokio::test]
async fn a_migrating_backend_seals_a_plain_store_without_logging_anyone_out() {
    let (plain, sealed) = (MemoryBackend::new(), MemoryBackend::new());
    let client = signed_in(layered(plain.clone(), SECRET, &[])).await;
    let migrating =
        MigratingBackend::new(plain.clone(), Storage::from(sealed.clone()).sealed()).unwrap();
    let mut client = redeployed(client, layered(migrating, SECRET, &[]));
    client.get("/set?moved=yes").await;
    assert_eq!((plain.len(), sealed.len()), (0, 1), "moved on its save");
    let (values, devices) = seen(&mut client).await;
    assert_eq!(
        (values[KEY].as_str(), values["moved"].as_str()),
        (Some(VALUE), Some("yes"))
    );
    assert_eq!(devices[0]["label"], LABEL, "{devices}");
    // The sealed store alone, afterwards, reads it.
    let mut client = redeployed(client, layered(Storage::from(sealed).sealed(), SECRET, &[]));
    assert_eq!(seen(&mut client).await.0[KEY], VALUE);
}

#[test]
fn build_refuses_a_sealed_cookie_a_storage_sealed_twice_and_one_of_two_secrets() {
    for cookie in [Storage::signed_cookie(), Storage::private_cookie()] {
        let refused = SessionConfig::builder()
            .secret_key(SECRET)
            .default_backend(cookie.sealed())
            .build();
        assert!(matches!(
            refused,
            Err(ConfigError::InvalidSetting {
                setting: "Storage::sealed",
                ..
            })
        ));
    }
    let twice = Storage::from(MemoryBackend::new()).sealed().sealed();
    let sides = MigratingBackend::new(
        MemoryBackend::new(),
        Storage::from(MemoryBackend::new()).sealed(),
    )
    .unwrap();
    for storage in [twice, Storage::from(sides).sealed()] {
        let refused = SessionConfig::builder()
            .secret_key(SECRET)
            .default_backend(storage)
            .build();
        assert!(matches!(
            refused,
            Err(ConfigError::InvalidSetting {
                setting: "Storage::sealed",
                ..
            })
        ));
    }
    let storage = Storage::from(MemoryBackend::new()).sealed();
    let build = |secret: &[u8]| {
        SessionConfig::builder()
            .secret_key(secret)
            .default_backend(storage.clone())
            .build()
    };
    assert!(build(SECRET).is_ok());
    assert!(build(SECRET).is_ok(), "the same secrets again");
    assert!(matches!(
        build(NEW_SECRET),
        Err(ConfigError::InvalidSetting {
            setting: "Storage::sealed",
            ..
        })
    ));
}
