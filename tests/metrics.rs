//! The metrics (feature `metrics`), read with a debugging recorder after a scripted workload
//! on every built-in backend: loads and saves by outcome, backend latency, batch sizes, the
//! Redis local cache, lifecycle events and refused cookies, dropped events. One test in a
//! binary of its own: the recorder is global, and each snapshot takes what came since the last.

use std::collections::BTreeMap;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration as StdDuration;

use axum_session_store::backend::{MySqlBackend, PostgresBackend, SqliteBackend, Storage};
use axum_session_store::cookie::LegacyCookie;
use axum_session_store::session::{SessionEvent, SessionEvents};
use axum_session_store::test_util::session_cookie;
use axum_session_store::{DefaultSession, SessionConfig};
use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshotter};
use session_test_support as common;
use sqlx::sqlite::SqliteConnectOptions;

use common::servers;
use common::sql::Setup;
use common::{app, get_with_cookie, Client, SECRET};

/// What one snapshot holds: `name{label=value,...}` (labels in order) to its counter total,
/// or to the number of values its histogram recorded.
fn read(snapshotter: &Snapshotter) -> BTreeMap<String, (u64, usize)> {
    let mut read = BTreeMap::new();
    for (key, _, _, value) in snapshotter.snapshot().into_vec() {
        let key = key.key();
        let mut labels: Vec<String> = key
            .labels()
            .map(|label| format!("{}={}", label.key(), label.value()))
            .collect();
        labels.sort();
        let name = format!("{}{{{}}}", key.name(), labels.join(","));
        let value = match value {
            DebugValue::Counter(n) => (n, 0),
            DebugValue::Histogram(values) => (0, values.len()),
            DebugValue::Gauge(_) => (0, 0),
        };
        read.insert(name, value);
    }
    read
}

/// The counter `name` in `read`, 0 when absent.
fn counter(read: &BTreeMap<String, (u64, usize)>, name: &str) -> u64 {
    read.get(name).map_or(0, |(n, _)| *n)
}

/// How many values the histogram `name` in `read` recorded.
fn recorded(read: &BTreeMap<String, (u64, usize)>, name: &str) -> usize {
    read.get(name).map_or(0, |(_, n)| *n)
}

/// One visitor's life on `storage` (whose backend is labelled `label`): created, changed, read,
/// logged out, come back with the dead cookie, then a login that loses a race to a logout.
async fn workload(snapshotter: &Snapshotter, storage: Storage, label: &str, batched: bool) {
    let config = SessionConfig::builder()
        .secret_key(SECRET)
        .default_backend(storage)
        .build()
        .unwrap();
    let router = app::layered(config.clone());
    read(snapshotter);
    let mut client = Client::new(router.clone());
    client.get("/set?n=1").await;
    client.get("/set?n=2").await;
    client.get("/dump").await;
    let old = format!("session={}", client.cookie("session"));
    client.get("/invalidate").await;
    get_with_cookie(&router, "/dump", &old).await;

    // A login paused between its load and its save while a logout of its session runs.
    let pause = Arc::new(app::Pause::default());
    let racing = app::layered_with_pause(config.clone(), pause.clone());
    let mut browser = Client::new(racing.clone());
    browser.get("/set?a=1").await;
    let cookie = format!("session={}", browser.cookie("session"));
    let login = tokio::spawn({
        let (racing, cookie) = (racing.clone(), cookie.clone());
        async move { get_with_cookie(&racing, "/login-paused", &cookie).await }
    });
    pause.reached.notified().await;
    get_with_cookie(&racing, "/invalidate", &cookie).await;
    pause.resume.notify_one();
    assert_eq!(login.await.unwrap().status, 409);

    let read = read(snapshotter);
    let b = format!("backend={label}");
    let expected = [
        (
            format!("session_saves_total{{{b},operation=create,outcome=ok}}"),
            2,
        ),
        (
            format!("session_saves_total{{{b},operation=apply,outcome=ok}}"),
            1,
        ),
        (
            format!("session_saves_total{{{b},operation=delete,outcome=ok}}"),
            2,
        ),
        (
            format!("session_saves_total{{{b},operation=regenerate,outcome=conflict}}"),
            1,
        ),
        (format!("session_loads_total{{{b},outcome=found}}"), 5),
        (format!("session_loads_total{{{b},outcome=absent}}"), 1),
        (format!("session_lifecycle_total{{{b},kind=created}}"), 2),
        (
            format!("session_lifecycle_total{{{b},kind=invalidated}}"),
            2,
        ),
        (format!("session_lifecycle_total{{{b},kind=expired}}"), 1),
        (format!("session_lifecycle_total{{{b},kind=conflict}}"), 1),
    ];
    for (name, value) in &expected {
        assert_eq!(counter(&read, name), *value, "{name} on {label}: {read:#?}");
    }
    for operation in ["load", "create", "apply", "delete", "regenerate"] {
        let name = format!("session_backend_duration_seconds{{{b},operation={operation}}}");
        assert!(recorded(&read, &name) > 0, "{name}: {read:#?}");
    }
    assert_eq!(
        recorded(&read, "session_batch_size{operation=loads}") > 0,
        batched,
        "batch sizes are recorded where loads are batched: {read:#?}"
    );
    assert!(
        !read
            .keys()
            .any(|name| name.contains("sess_") || name.contains("user")),
        "no id or user in a label: {read:#?}"
    );
}

/// Takes a second per event.
#[derive(Debug)]
struct Slow;

impl SessionEvents for Slow {
    async fn handle(&self, _: SessionEvent) {
        tokio::time::sleep(StdDuration::from_secs(1)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scripted_workload_gives_the_documented_metrics_on_every_backend() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    recorder.install().unwrap();

    workload(
        &snapshotter,
        axum_session_store::backend::MemoryBackend::new().into(),
        "memory",
        false,
    )
    .await;
    if let Some((redis, _, cleanup)) = servers::shared_redis("metrics").await {
        workload(&snapshotter, redis.into(), "redis", true).await;
        tokio::task::spawn_blocking(cleanup).await.unwrap();
    }
    if let Some(setup) =
        Setup::<PostgresBackend>::on_server("PostgreSQL", &servers::postgres_url()).await
    {
        workload(
            &snapshotter,
            (*setup.backend).clone().into(),
            "postgres",
            true,
        )
        .await;
    }
    if let Some(setup) = Setup::<MySqlBackend>::on_server("MySQL", &servers::mysql_url()).await {
        workload(&snapshotter, (*setup.backend).clone().into(), "mysql", true).await;
    }
    let sqlite = SqliteConnectOptions::from_str("sqlite::memory:").unwrap();
    let pool = sqlx::sqlite::SqlitePoolOptions::new()
        .max_connections(1)
        .idle_timeout(None)
        .max_lifetime(None)
        .connect_with(sqlite)
        .await
        .unwrap();
    let setup = Setup::<SqliteBackend>::new(pool, || {}).await;
    workload(
        &snapshotter,
        (*setup.backend).clone().into(),
        "sqlite",
        true,
    )
    .await;

    // The Redis local cache: a second read of a session this process wrote is a hit.
    if let Some((redis, _, cleanup)) = servers::shared_redis("metrics_cache").await {
        let cached = redis.local_cache(servers::redis_url(), 1_000).unwrap();
        let config = SessionConfig::builder()
            .secret_key(SECRET)
            .default_backend(cached)
            .build()
            .unwrap();
        let mut client = Client::new(app::layered(config));
        client.get("/set?n=1").await;
        // The tracking connection comes up in the background; until it does, reads go straight
        // to Redis and count neither a hit nor a miss. Wait (10 s at most) for one that counts.
        let deadline = std::time::Instant::now() + StdDuration::from_secs(10);
        loop {
            read(&snapshotter);
            client.get("/dump").await;
            let seen = read(&snapshotter);
            if counter(&seen, "session_cache_total{event=hit}")
                + counter(&seen, "session_cache_total{event=miss}")
                > 0
            {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the cache never came up: {seen:#?}"
            );
            tokio::time::sleep(StdDuration::from_millis(20)).await;
        }
        for _ in 0..5 {
            client.get("/dump").await;
        }
        let read = read(&snapshotter);
        assert!(
            counter(&read, "session_cache_total{event=hit}") >= 1,
            "{read:#?}"
        );
        assert!(
            counter(&read, "session_cache_total{event=hit}")
                + counter(&read, "session_cache_total{event=miss}")
                >= 5,
            "{read:#?}"
        );
        tokio::task::spawn_blocking(cleanup).await.unwrap();
    }

    // Refused cookies by reason, and events a full buffer dropped.
    let config = SessionConfig::builder()
        .secret_key(SECRET)
        .events(Slow)
        .event_buffer(1)
        .build()
        .unwrap();
    let other = SessionConfig::builder()
        .secret_key(b"another app's secret, 32 bytes long")
        .build()
        .unwrap();
    let forged = session_cookie(&other, "session", [("admin", true)])
        .await
        .unwrap();
    let router = app::layered(config.clone());
    for _ in 0..5 {
        get_with_cookie(&router, "/dump", &format!("session={forged}")).await;
    }
    let rejected = read(&snapshotter);
    assert_eq!(
        counter(
            &rejected,
            "session_cookie_rejections_total{reason=bad_signature}"
        ),
        5,
        "{rejected:#?}"
    );
    let dropped = counter(&rejected, "session_events_dropped_total{}");
    assert!(dropped >= 2, "{rejected:#?}");
    assert_eq!(dropped, config.dropped_events());

    // Other frameworks' cookies: one upgraded, one refused.
    let vectors: serde_json::Value =
        serde_json::from_str(include_str!("data/legacy_vectors.json")).unwrap();
    let django = |name: &str| {
        let case = vectors["cases"]
            .as_array()
            .unwrap()
            .iter()
            .find(|case| case["name"] == name)
            .unwrap()
            .clone();
        format!("sessionid={}", case["value"].as_str().unwrap())
    };
    let config = SessionConfig::builder()
        .secret_key(SECRET)
        .legacy_cookie::<DefaultSession>(
            LegacyCookie::django("django-insecure-the-old-apps-secret-key-0123456789")
                .max_age(time::Duration::days(365 * 50)),
        )
        .build()
        .unwrap();
    let router = app::layered(config);
    get_with_cookie(&router, "/touch", &django("django session")).await;
    get_with_cookie(&router, "/touch", &django("django another secret")).await;
    let legacy = read(&snapshotter);
    for outcome in ["upgraded", "refused"] {
        let name = format!("session_legacy_cookies_total{{format=django,outcome={outcome}}}");
        assert_eq!(counter(&legacy, &name), 1, "{name}: {legacy:#?}");
    }
}
