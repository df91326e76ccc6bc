//! `MigratingBackend`: sessions move from an old backend to a new one as they are saved, with no
//! acknowledged write lost, nobody logged out, and no logout undone; memory to memory (the
//! published suites), memory to Redis and Redis to PostgreSQL under concurrent load.

use crate::common;

use axum::Router;
use axum_session_store::backend::{
    MemoryBackend, MigratingBackend, MySqlBackend, PostgresBackend, SqliteBackend, Storage,
    UserIndex,
};
use axum_session_store::{ConfigError, SessionBackend, SessionConfig};
use common::servers;
use common::sql::Setup;
use common::{app, dumped, get_with_cookie, Client, SECRET};
use serde_json::{json, Value};
use time::{Duration, OffsetDateTime};

fn layered(storage: impl Into<Storage>) -> Router {
    let config = SessionConfig::builder()
        .secret_key(SECRET)
        .default_backend(storage)
        .build()
        .unwrap();
    app::layered(config)
}

/// The same browser, talking to the app deployed again on `router`.
fn redeployed(client: Client, router: Router) -> Client {
    let mut again = Client::new(router);
    again.jar = client.jar;
    again
}

fn migrating(old: impl Into<Storage>, new: impl Into<Storage>) -> MigratingBackend {
    MigratingBackend::new(old, new).unwrap()
}

#[tokio::test]
async fn memory_to_memory_passes_the_published_suites() {
    let backend = || migrating(MemoryBackend::new(), MemoryBackend::new());
    axum_session_store::test_util::backend_suite(backend()).await;
    axum_session_store::test_util::user_index_suite(backend()).await;
}

#[tokio::test]
async fn a_cookie_storage_is_refused_at_once() {
    for (old, new) in [
        (
            Storage::signed_cookie(),
            Storage::from(MemoryBackend::new()),
        ),
        (
            Storage::from(MemoryBackend::new()),
            Storage::private_cookie(),
        ),
    ] {
        assert!(matches!(
            MigratingBackend::new(old, new),
            Err(ConfigError::InvalidSetting { .. })
        ));
    }
}

#[tokio::test]
async fn a_session_moves_on_its_next_save_and_leaves_no_copy_behind() {
    let (old, new) = (MemoryBackend::new(), MemoryBackend::new());
    let mut client = Client::new(layered(old.clone()));
    client.get("/set?user=ada").await;
    client.get("/tie/ada").await;
    assert_eq!((old.len(), new.len()), (1, 0));

    // Deployed with both: read from the old one until saved.
    let router = layered(migrating(old.clone(), new.clone()));
    let mut client = redeployed(client, router.clone());
    assert_eq!(dumped(&client.get("/dump").await)["values"]["user"], "ada");
    assert_eq!((old.len(), new.len()), (1, 0), "a read moves nothing");
    client.get("/set?cart=3").await;
    assert_eq!((old.len(), new.len()), (0, 1), "moved on its save");
    assert_eq!(
        dumped(&client.get("/dump").await)["values"],
        json!({"user": "ada", "cart": 3})
    );

    // A session moved by a new id (a login), then one logged out while still in the old one.
    let mut second = Client::new(layered(old.clone()));
    second.get("/set?user=bob").await;
    let mut second = redeployed(second, router.clone());
    second.get("/regenerate").await;
    assert_eq!((old.len(), new.len()), (0, 2));
    assert_eq!(dumped(&second.get("/dump").await)["values"]["user"], "bob");
    let mut third = Client::new(layered(old.clone()));
    third.get("/set?user=cy").await;
    let mut third = redeployed(third, router.clone());
    third.get("/invalidate").await;
    assert_eq!((old.len(), new.len()), (0, 2));
    assert_eq!(dumped(&third.get("/dump").await)["values"], json!({}));

    // The user index lists and revokes across both.
    let mut other_device = Client::new(layered(old.clone()));
    other_device.get("/tie/ada").await;
    let mut other_device = redeployed(other_device, router);
    let devices: Value = serde_json::from_str(&client.get("/devices").await.body).unwrap();
    assert_eq!(
        devices["count"], 2,
        "one moved, one still in the old backend"
    );
    assert_eq!(client.get("/revoke-others").await.body, "1");
    assert_eq!(
        dumped(&other_device.get("/dump").await)["values"],
        json!({})
    );
    assert_eq!(old.len(), 0);
}

/// How many sessions, saves per session and logouts the load runs.
const SESSIONS: usize = 24;
const SAVES: usize = 6;
const LOGGED_OUT: usize = 4;
const UNTOUCHED: usize = 4;

/// Sessions made on `old` alone, then served concurrently through a `MigratingBackend` to
/// `new`: every save answered 200 is in the final session, every session not logged out still
/// holds its user, every logout stays, and untouched sessions are still read from `old`, or,
/// with a `drain` running beside the load, have moved to `new` too.
async fn moves_under_load(old: Storage, new: Storage, drain: bool) {
    let before = layered(old.clone());
    let mut cookies = Vec::new();
    for i in 0..SESSIONS + LOGGED_OUT + UNTOUCHED {
        let mut client = Client::new(before.clone());
        client.get(&format!("/set?user=u{i}")).await;
        cookies.push(format!("session={}", client.cookie("session")));
    }

    let migrating = migrating(old.clone(), new);
    let draining = drain.then(|| {
        let mut drain = migrating
            .drain()
            .unwrap()
            .batch_size(5)
            .pause(Duration::ZERO);
        tokio::spawn(async move { drain.run().await })
    });
    let router = layered(migrating);
    let mut tasks = Vec::new();
    for (i, cookie) in cookies.iter().enumerate().take(SESSIONS + LOGGED_OUT) {
        let jobs: Vec<String> = if i < SESSIONS {
            (0..SAVES).map(|j| format!("/set?k{j}={j}")).collect()
        } else {
            // A logout racing saves of the same session.
            vec![
                "/set?late=1".into(),
                "/invalidate".into(),
                "/set?later=1".into(),
            ]
        };
        for job in jobs {
            let (router, cookie) = (router.clone(), cookie.clone());
            tasks.push(tokio::spawn(async move {
                let reply = get_with_cookie(&router, &job, &cookie).await;
                (i, job, reply.status.as_u16())
            }));
        }
    }
    let mut acknowledged = vec![Vec::new(); SESSIONS];
    if let Some(draining) = draining {
        let progress = draining.await.unwrap().unwrap();
        assert!(progress.finished, "{progress:?}");
        assert_eq!(
            progress.listed,
            progress.moved + progress.skipped,
            "{progress:?}"
        );
        assert!(progress.moved >= UNTOUCHED as u64, "{progress:?}");
    }
    for task in tasks {
        let (i, job, status) = task.await.unwrap();
        if i < SESSIONS {
            assert_eq!(status, 200, "session {i}: {job}");
            acknowledged[i].push(job);
        } else {
            // A save after the logout finds its session gone: a conflict, never a 5xx.
            assert!(
                status == 200 || status == 409,
                "session {i}: {job} gave {status}"
            );
        }
    }

    for (i, cookie) in cookies.iter().enumerate() {
        let values = dumped(&get_with_cookie(&router, "/dump", cookie).await)["values"].clone();
        if (SESSIONS..SESSIONS + LOGGED_OUT).contains(&i) {
            assert_eq!(values, json!({}), "session {i}: the logout stays");
            continue;
        }
        assert_eq!(
            values["user"],
            format!("u{i}"),
            "session {i} was logged out: {values}"
        );
        for j in (0..SAVES).filter(|_| i < SESSIONS) {
            assert_eq!(values[format!("k{j}")], json!(j), "session {i} lost k{j}");
        }
        let in_old = dumped(&get_with_cookie(&before, "/dump", cookie).await)["values"].clone();
        if i < SESSIONS || drain {
            assert_eq!(
                in_old,
                json!({}),
                "session {i}: a copy stayed in the old backend"
            );
        } else {
            assert_eq!(
                in_old["user"],
                format!("u{i}"),
                "untouched: still in the old one"
            );
        }
        assert_eq!(
            acknowledged.get(i).map_or(0, Vec::len),
            if i < SESSIONS { SAVES } else { 0 }
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn memory_to_redis_under_load() {
    let Some((redis, _, cleanup)) = servers::shared_redis("migrating_memory_redis").await else {
        return;
    };
    moves_under_load(MemoryBackend::new().into(), redis.into(), false).await;
    tokio::task::spawn_blocking(cleanup).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn redis_to_postgres_under_load() {
    let Some((redis, _, cleanup)) = servers::shared_redis("migrating_redis_postgres").await else {
        return;
    };
    let Some(setup) =
        Setup::<PostgresBackend>::on_server("PostgreSQL", &servers::postgres_url()).await
    else {
        tokio::task::spawn_blocking(cleanup).await.unwrap();
        return;
    };
    moves_under_load(redis.into(), (*setup.backend).clone().into(), true).await;
    tokio::task::spawn_blocking(cleanup).await.unwrap();
}

/// How many sessions a drain test puts in the old backend: more than two batches of 100.
const TO_DRAIN: usize = 230;

/// `TO_DRAIN` sessions of one user in `old` (so a Redis user index sits beside them), drained
/// into a memory backend by batches of 100: each moves once, with the time it had left, and
/// the old backend is left without them.
pub(crate) async fn drains_every_session<B>(old: B)
where
    B: SessionBackend + Clone + Into<Storage>,
{
    let start = OffsetDateTime::now_utc();
    let mut made = Vec::new();
    for i in 0..TO_DRAIN {
        let id = common::sql::new_id();
        let ttl = Duration::hours(1) + Duration::seconds(i as i64);
        let record = common::sql::record(json!({"_user": "ada", "n": i}));
        assert!(old.create(&id, &record, ttl).await.unwrap());
        made.push((id, record, start + ttl));
    }
    let new = MemoryBackend::new();
    let migrating = migrating(old.clone(), new.clone());
    let mut drain = migrating
        .drain()
        .unwrap()
        .batch_size(100)
        .pause(Duration::ZERO);
    let progress = drain.run().await.unwrap();
    assert!(progress.finished, "{progress:?}");
    assert_eq!(progress.moved, TO_DRAIN as u64, "{progress:?}");
    assert_eq!(progress, drain.progress());
    assert_eq!(
        drain.step().await.unwrap(),
        progress,
        "a finished drain stays finished"
    );

    let listed = new.user_sessions("ada", TO_DRAIN + 1).await.unwrap();
    assert_eq!(listed.len(), TO_DRAIN);
    for (id, record, expires_at) in &made {
        assert_eq!(old.load(id).await.unwrap(), None, "left in the old backend");
        assert_eq!(new.load(id).await.unwrap().as_ref(), Some(record));
        let moved = listed.iter().find(|s| &s.id == id).unwrap();
        let drift = (moved.expires_at - *expires_at).abs();
        assert!(drift < Duration::seconds(5), "expiry moved by {drift}");
    }
}

#[tokio::test]
async fn a_drain_moves_every_idle_session_from_memory() {
    drains_every_session(MemoryBackend::new()).await;
}

#[tokio::test]
async fn a_drain_moves_every_idle_session_from_redis() {
    let Some((redis, _, cleanup)) = servers::shared_redis("migrating_drain").await else {
        return;
    };
    drains_every_session(redis).await;
    tokio::task::spawn_blocking(cleanup).await.unwrap();
}

#[tokio::test]
async fn a_drain_moves_every_idle_session_from_postgres() {
    let Some(setup) =
        Setup::<PostgresBackend>::on_server("PostgreSQL", &servers::postgres_url()).await
    else {
        return;
    };
    drains_every_session((*setup.backend).clone()).await;
}

#[tokio::test]
async fn a_drain_moves_every_idle_session_from_mysql() {
    let Some(setup) = Setup::<MySqlBackend>::on_server("MySQL", &servers::mysql_url()).await else {
        return;
    };
    drains_every_session((*setup.backend).clone()).await;
}

#[tokio::test]
async fn a_drain_moves_every_idle_session_from_sqlite() {
    let pool = sqlx::sqlite::SqlitePoolOptions::new()
        .max_connections(1)
        .min_connections(1)
        .idle_timeout(None)
        .max_lifetime(None)
        .connect("sqlite::memory:")
        .await
        .unwrap();
    let setup = Setup::<SqliteBackend>::new(pool, || {}).await;
    drains_every_session((*setup.backend).clone()).await;
}

#[tokio::test]
async fn a_backend_that_cannot_list_is_refused_a_drain() {
    let own = Storage::server(MemoryBackend::new());
    let migrating = migrating(own, MemoryBackend::new());
    assert!(matches!(
        migrating.drain(),
        Err(ConfigError::InvalidSetting { .. })
    ));
}
