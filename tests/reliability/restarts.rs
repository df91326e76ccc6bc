//! Restarts under load: writers setting fresh keys while the backend's server is crashed and
//! started again; clean failures while it is down, success again after, no acknowledged write
//! lost. The Redis server is a private `redis-server`; PostgreSQL's is in `private_postgres`.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum_session_store::test_util::CookieJar;
use axum_session_store::SessionConfig;

use crate::common::private_redis::PrivateRedis;
use crate::common::{self, app};
use crate::harness::error_log;
use crate::http::{HttpConn, HttpServer};
#[cfg(feature = "redis")]
use crate::targets::builder;

/// Connections of the restart tests, each setting a fresh key in its session per request.
pub(crate) const WRITERS: usize = 8;

/// Load before the server is stopped, time it stays down, load after it is back. The outage
/// is long enough for requests to start and fail entirely inside it even when each waits out
/// a 1 s pool timeout (sqlx keeps retrying the connection until its acquire timeout).
const BEFORE_OUTAGE: Duration = Duration::from_secs(3);
const OUTAGE: Duration = Duration::from_secs(3);
const AFTER_OUTAGE: Duration = Duration::from_secs(5);

/// No request may take longer than this, failed or not: the pools fail within 2 s.
const MAX_LATENCY: Duration = Duration::from_secs(5);

/// A request with no answer after this long is recorded as hung.
const HUNG_AFTER: Duration = Duration::from_secs(15);

/// Requests that start this long after the server is back must all succeed.
const RECOVERY_GRACE: Duration = Duration::from_secs(2);

/// The body of the `500` a failed save or load answers.
const FAILURE_BODY: &str = "Internal Server Error";
/// The body of a request refused because its backend did not answer in time.
const TIMEOUT_BODY: &str = "Service Unavailable";

/// A server that can be crashed and started again.
pub(crate) trait Restartable {
    /// Stops it the hard way (data not yet made durable is lost), and returns once it is gone.
    fn crash(&mut self);
    /// Starts it again, with the same port and data, and returns once it answers.
    fn start_again(&mut self);
}

/// How a request of the restart tests ended.
#[derive(Debug, Clone, PartialEq)]
enum Outcome {
    /// 200: the write is acknowledged.
    Ok,
    /// The failure the crate promises: 500, body "Internal Server Error", or for a backend
    /// that did not answer in time 503, "Service Unavailable"; no `Set-Cookie`.
    Refused,
    /// Any other response.
    Unexpected(String),
    /// The HTTP connection failed.
    Io(String),
    /// No answer within [`HUNG_AFTER`].
    Hung,
}

struct Event {
    start: Instant,
    end: Instant,
    outcome: Outcome,
}

/// What one writer connection did.
struct Writer {
    events: Vec<Event>,
    /// Keys whose request got a 200, with their value.
    acked: Vec<(String, u64)>,
    /// The jar at the end: its `session` cookie names the session to check.
    jar: CookieJar,
    /// How often the session's record id changed (a new record was made for this client).
    id_changes: usize,
}

/// The record id in the `session` cookie of `jar`, if any.
fn session_id(config: &SessionConfig, jar: &CookieJar) -> Option<String> {
    common::session_id_in(config, "session", jar.get("session")?)
}

/// Sets `k{writer}_{n}` = n in the session, for n = 1, 2, ..., until `stop`.
async fn write_loop(
    writer: usize,
    addr: SocketAddr,
    config: SessionConfig,
    stop: Arc<AtomicBool>,
) -> Writer {
    let mut jar = CookieJar::new();
    let mut events = Vec::new();
    let mut acked = Vec::new();
    let mut conn: Option<HttpConn> = None;
    let mut last_id: Option<String> = None;
    let mut id_changes = 0;
    let mut n = 0u64;
    while !stop.load(Ordering::Relaxed) {
        n += 1;
        let key = format!("k{writer}_{n}");
        let start = Instant::now();
        let result = tokio::time::timeout(HUNG_AFTER, async {
            let http = match conn.as_mut() {
                Some(http) => http,
                None => conn.insert(HttpConn::connect(addr).await?),
            };
            http.get(&format!("/set?{key}={n}"), &mut jar).await
        })
        .await;
        let end = Instant::now();
        let outcome = match result {
            Err(_) => Outcome::Hung,
            Ok(Err(error)) => Outcome::Io(error.to_string()),
            Ok(Ok(reply)) => match reply.status {
                200 => Outcome::Ok,
                500 if reply.body == FAILURE_BODY && reply.set_cookies.is_empty() => {
                    Outcome::Refused
                }
                503 if reply.body == TIMEOUT_BODY && reply.set_cookies.is_empty() => {
                    Outcome::Refused
                }
                _ => Outcome::Unexpected(format!("{reply:?}")),
            },
        };
        if matches!(outcome, Outcome::Hung | Outcome::Io(_)) {
            conn = None;
        }
        if outcome == Outcome::Ok {
            acked.push((key, n));
            let id = session_id(&config, &jar);
            if last_id.is_some() && id != last_id {
                id_changes += 1;
            }
            last_id = id;
        } else {
            // A client backing off a little, rather than hammering a failing server.
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        events.push(Event {
            start,
            end,
            outcome,
        });
    }
    Writer {
        events,
        acked,
        jar,
        id_changes,
    }
}

/// The session behind `jar`, read through the app.
async fn stored_values(addr: SocketAddr, jar: &CookieJar) -> Result<serde_json::Value, String> {
    let mut jar = jar.clone();
    let mut http = HttpConn::connect(addr)
        .await
        .map_err(|e| format!("connecting: {e}"))?;
    let reply = tokio::time::timeout(HUNG_AFTER, http.get("/dump", &mut jar))
        .await
        .map_err(|_| "no answer to /dump".to_owned())?
        .map_err(|e| format!("/dump: {e}"))?;
    if reply.status != 200 {
        return Err(format!("/dump answered {reply:?}"));
    }
    let dumped: serde_json::Value =
        serde_json::from_str(&reply.body).map_err(|e| format!("/dump: {e}: {}", reply.body))?;
    Ok(dumped["values"].clone())
}

fn secs(duration: Duration) -> String {
    format!("{:.2}s", duration.as_secs_f64())
}

/// Writes from [`WRITERS`] connections through `config`'s default (server-side) session,
/// crashes `server` after [`BEFORE_OUTAGE`], starts it again after [`OUTAGE`], writes on for
/// [`AFTER_OUTAGE`], then checks what the brief promises: clean 500s while down, nothing hung,
/// success again after the restart with the same pool and router, and every acknowledged
/// write stored. `log_word` must appear in the error lines (it names the failing server).
pub(crate) async fn restart_under_load(
    label: &str,
    log_word: &str,
    config: SessionConfig,
    server: &mut dyn Restartable,
) {
    let logs = error_log();
    let log_start = logs.text().len();
    let began = Instant::now();
    let http = HttpServer::start(app::layered(config.clone())).await;
    let stop = Arc::new(AtomicBool::new(false));
    let tasks: Vec<_> = (0..WRITERS)
        .map(|writer| tokio::spawn(write_loop(writer, http.addr, config.clone(), stop.clone())))
        .collect();

    tokio::time::sleep(BEFORE_OUTAGE).await;
    let crash_started = Instant::now();
    tokio::task::block_in_place(|| server.crash());
    let down_at = Instant::now();
    tokio::time::sleep(OUTAGE).await;
    let up_at = Instant::now();
    tokio::task::block_in_place(|| server.start_again());
    let ready_at = Instant::now();
    tokio::time::sleep(AFTER_OUTAGE).await;
    stop.store(true, Ordering::Relaxed);

    let mut writers = Vec::new();
    for task in tasks {
        let writer = tokio::time::timeout(HUNG_AFTER * 2, task)
            .await
            .expect("a writer did not stop")
            .expect("a writer panicked");
        writers.push(writer);
    }

    let mut problems = Vec::new();
    let mut problem = |text: String| {
        if problems.len() < 20 {
            problems.push(text);
        }
    };
    let events = || writers.iter().flat_map(|w| w.events.iter());
    let requests = events().count();
    let ok = events().filter(|e| e.outcome == Outcome::Ok).count();
    let refused = events().filter(|e| e.outcome == Outcome::Refused).count();
    let max_latency = events().map(|e| e.end - e.start).max().unwrap_or_default();
    let max_failed_latency = events()
        .filter(|e| e.outcome != Outcome::Ok)
        .map(|e| e.end - e.start)
        .max()
        .unwrap_or_default();
    for event in events() {
        let at = secs(event.start - began);
        match &event.outcome {
            Outcome::Ok | Outcome::Refused => {}
            other => problem(format!("request at {at}: {other:?}")),
        }
        if event.end - event.start > MAX_LATENCY {
            problem(format!(
                "request at {at} took {} ({:?})",
                secs(event.end - event.start),
                event.outcome
            ));
        }
    }
    // While down, every request fails cleanly.
    let while_down: Vec<&Event> = events()
        .filter(|e| e.start >= down_at && e.end <= up_at)
        .collect();
    if while_down.is_empty() {
        problem("no request ran while the server was down".into());
    }
    for event in &while_down {
        if event.outcome != Outcome::Refused {
            problem(format!(
                "request at {} while the server was down: {:?}",
                secs(event.start - began),
                event.outcome
            ));
        }
    }
    // Afterwards, with the same pool and router, they succeed again.
    let mut recovery = Duration::ZERO;
    let mut failed_after_restart = 0;
    for (index, writer) in writers.iter().enumerate() {
        match writer
            .events
            .iter()
            .find(|e| e.start >= up_at && e.outcome == Outcome::Ok)
        {
            Some(first) => recovery = recovery.max(first.end.saturating_duration_since(ready_at)),
            None => problem(format!("writer {index}: no success after the restart")),
        }
        for event in writer.events.iter().filter(|e| e.start >= ready_at) {
            if event.outcome != Outcome::Ok {
                failed_after_restart += 1;
                if event.start >= ready_at + RECOVERY_GRACE {
                    problem(format!(
                        "writer {index}: request at {} ({} after the restart) failed: {:?}",
                        secs(event.start - began),
                        secs(event.start - ready_at),
                        event.outcome
                    ));
                }
            }
        }
    }
    // No acknowledged write is lost.
    let (mut acked, mut lost, mut stored_unacked, mut id_changes) = (0, 0, 0, 0);
    for (index, writer) in writers.iter().enumerate() {
        acked += writer.acked.len();
        id_changes += writer.id_changes;
        let values = match stored_values(http.addr, &writer.jar).await {
            Ok(values) => values,
            Err(error) => {
                problem(format!("writer {index}: reading its session: {error}"));
                lost += writer.acked.len();
                continue;
            }
        };
        let acked_keys: BTreeSet<&str> = writer.acked.iter().map(|(k, _)| k.as_str()).collect();
        for (key, n) in &writer.acked {
            if values.get(key) != Some(&serde_json::json!(n)) {
                lost += 1;
                problem(format!(
                    "writer {index}: acknowledged {key}={n} is {:?} in the store",
                    values.get(key)
                ));
            }
        }
        stored_unacked += values.as_object().map_or(0, |map| {
            map.keys()
                .filter(|k| !acked_keys.contains(k.as_str()))
                .count()
        });
    }
    http.stop().await;

    let log = logs.text()[log_start..].to_owned();
    let error_lines: Vec<&str> = log.lines().filter(|l| l.contains("ERROR")).collect();
    if !error_lines.iter().any(|l| l.contains(log_word)) {
        problem(format!(
            "no error line names {log_word}: {:?}",
            error_lines.first()
        ));
    }

    eprintln!(
        "{label}: {WRITERS} connections, {requests} requests in {}: {ok} ok, {refused} refused (500 or 503); \
         {} requests entirely while down, all refused: {}; crash took {}, restart took {}, \
         last writer back {} after the restart, {failed_after_restart} failures after it; \
         max latency {} (failed requests: {}); {acked} acknowledged writes, {lost} lost, \
         {stored_unacked} stored though refused; {id_changes} session id changes; \
         {} error log lines, e.g. {:?}",
        secs(began.elapsed()),
        while_down.len(),
        while_down.iter().all(|e| e.outcome == Outcome::Refused),
        secs(down_at - crash_started),
        secs(ready_at - up_at),
        secs(recovery),
        secs(max_latency),
        secs(max_failed_latency),
        error_lines.len(),
        error_lines.first().map(|l| l.chars().take(400).collect::<String>()),
    );
    assert!(problems.is_empty(), "{label}:\n{}", problems.join("\n"));
    assert_eq!(lost, 0, "{label}: acknowledged writes lost");
}

/// Writes from [`WRITERS`] connections through `config`'s default session for a while, runs
/// `disturb` (a slot migration, say) meanwhile, writes on for a while, then checks that every
/// request succeeded in time and every acknowledged write is stored.
pub(crate) async fn disturbance_under_load(
    label: &str,
    config: SessionConfig,
    disturb: impl FnOnce() -> String,
) {
    let logs = error_log();
    let log_start = logs.text().len();
    let http = HttpServer::start(app::layered(config.clone())).await;
    let stop = Arc::new(AtomicBool::new(false));
    let tasks: Vec<_> = (0..WRITERS)
        .map(|writer| tokio::spawn(write_loop(writer, http.addr, config.clone(), stop.clone())))
        .collect();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let started = Instant::now();
    let what = tokio::task::block_in_place(disturb);
    let took = started.elapsed();
    tokio::time::sleep(Duration::from_secs(2)).await;
    stop.store(true, Ordering::Relaxed);
    let mut writers = Vec::new();
    for task in tasks {
        let writer = tokio::time::timeout(HUNG_AFTER * 2, task)
            .await
            .expect("a writer did not stop")
            .expect("a writer panicked");
        writers.push(writer);
    }
    let mut problems = Vec::new();
    let events = || writers.iter().flat_map(|w| w.events.iter());
    let requests = events().count();
    let during = events()
        .filter(|e| e.start >= started && e.start <= started + took)
        .count();
    for event in events() {
        if event.outcome != Outcome::Ok || event.end - event.start > MAX_LATENCY {
            problems.push(format!(
                "a request took {} and ended {:?}",
                secs(event.end - event.start),
                event.outcome
            ));
        }
    }
    let mut acked = 0;
    for (index, writer) in writers.iter().enumerate() {
        acked += writer.acked.len();
        match stored_values(http.addr, &writer.jar).await {
            Ok(values) => {
                for (key, n) in &writer.acked {
                    if values.get(key) != Some(&serde_json::json!(n)) {
                        problems.push(format!("writer {index}: acknowledged {key}={n} is lost"));
                    }
                }
            }
            Err(error) => problems.push(format!("writer {index}: {error}")),
        }
    }
    http.stop().await;
    eprintln!(
        "{label}: {WRITERS} connections, {requests} requests, {during} of them during {} \
         ({what}), {acked} acknowledged, {} problems",
        secs(took),
        problems.len()
    );
    problems.truncate(20);
    if !problems.is_empty() {
        let log = logs.text()[log_start..].to_owned();
        let errors: Vec<&str> = log
            .lines()
            .filter(|l| l.contains("ERROR"))
            .take(5)
            .collect();
        problems.push(format!("error log: {errors:#?}"));
    }
    assert!(problems.is_empty(), "{label}:\n{}", problems.join("\n"));
}

impl Restartable for PrivateRedis {
    fn crash(&mut self) {
        self.kill();
    }

    fn start_again(&mut self) {
        self.spawn().expect("restarting redis-server");
    }
}

#[cfg(feature = "redis")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "reliability: long-running; .ci/run runs them"]
async fn redis_restart_during_load_loses_no_acknowledged_write() {
    use axum_session_store::backend::RedisBackend;
    use deadpool_redis::{PoolConfig, Runtime, Timeouts};

    let Some(mut server) = PrivateRedis::start(true) else {
        return;
    };
    // Short pool timeouts, so that requests fail fast while the server is down.
    let timeouts = Timeouts {
        wait: Some(Duration::from_secs(2)),
        create: Some(Duration::from_secs(2)),
        recycle: Some(Duration::from_secs(2)),
    };
    let pool = deadpool_redis::Config {
        pool: Some(PoolConfig {
            timeouts,
            ..PoolConfig::new(WRITERS)
        }),
        ..deadpool_redis::Config::from_url(server.url())
    }
    .create_pool(Some(Runtime::Tokio1))
    .unwrap();
    let config = builder()
        .default_backend(RedisBackend::new(pool))
        .build()
        .unwrap();
    restart_under_load("Redis restart", "Redis", config, &mut server).await;
}
