//! Sustained load: keep-alive connections counting in their sessions, on every backend, with
//! no error and memory that stops growing.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::routing::get;
use axum::Router;
use axum_session_store::test_util::CookieJar;
use axum_session_store::{SessionConfig, SessionError};

use crate::harness::error_log;
use crate::http::{HttpConn, HttpServer};
use crate::targets::target;

/// Keep-alive connections of the sustained load, each with its own session.
const CONNECTIONS: usize = 32;

/// A request of the sustained load that takes longer than this is an error (a hang).
const SUSTAINED_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// The share of the run after which memory must stop growing.
const WARM_UP_PERCENT: u32 = 20;

/// How much the resident set may grow from the end of warm-up to the end of the run.
///
/// After warm-up the load is steady: the same 32 connections and 32 sessions, the pools at
/// their full size, every request alike, so nothing should accumulate; what remains is the
/// allocator's wobble (freed pages are not handed back at once). In 60-second runs on every
/// backend the growth was at most 0.2 MiB, on a process of 15 to 21 MiB. 4 MiB is a
/// twentyfold margin over that, yet over the 48 s after warm-up it still catches a leak of
/// about 45 bytes per request at 2,000 req/s (the fastest backends here, debug build) and of
/// about 320 bytes at 270 req/s (the slowest, on a busy machine). A fixed bound rather than a
/// percentage: 10 % of so small a process is under 2.1 MiB, closer to the wobble than needed.
const MAX_RSS_GROWTH: u64 = 4 * 1024 * 1024;

/// How long the sustained load runs on each backend: `RELIABILITY_SECONDS`, default 60.
fn reliability_duration() -> Duration {
    let seconds = match std::env::var("RELIABILITY_SECONDS") {
        Ok(text) => text
            .trim()
            .parse::<u64>()
            .ok()
            .filter(|&s| s > 0)
            .unwrap_or_else(|| panic!("RELIABILITY_SECONDS must be a positive integer: {text:?}")),
        Err(_) => 60,
    };
    Duration::from_secs(seconds)
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

/// This process's resident set size (`VmRSS`), in bytes; `None` off Linux.
fn rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let kib: u64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kib * 1024)
}

/// Reads the counter `n`, adds one, writes it back and answers the new value.
async fn count(session: axum_session_store::Session) -> Result<String, SessionError> {
    let n: u64 = session.get("n")?.unwrap_or(0) + 1;
    session.insert("n", n)?;
    Ok(n.to_string())
}

fn counter_app(config: SessionConfig) -> Router {
    Router::new()
        .route("/count", get(count))
        .layer(config.layer())
        .with_state(config)
}

/// What one connection of the sustained load saw.
#[derive(Default)]
struct ConnReport {
    requests: u64,
    errors: u64,
    first_errors: Vec<String>,
}

impl ConnReport {
    fn error(&mut self, message: String) {
        self.errors += 1;
        if self.first_errors.len() < 3 {
            self.first_errors.push(message);
        }
    }
}

/// Requests `/count` on one keep-alive connection until `deadline`, checking that the counter
/// of its session goes up by exactly one each time.
async fn count_loop(addr: SocketAddr, deadline: Instant) -> ConnReport {
    let mut report = ConnReport::default();
    let mut jar = CookieJar::new();
    let mut conn: Option<HttpConn> = None;
    let mut expected = 1u64;
    while Instant::now() < deadline {
        let http = match conn.as_mut() {
            Some(http) => http,
            None => match HttpConn::connect(addr).await {
                Ok(http) => conn.insert(http),
                Err(error) => {
                    report.error(format!("connecting: {error}"));
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        report.requests += 1;
        let reply =
            match tokio::time::timeout(SUSTAINED_REQUEST_TIMEOUT, http.get("/count", &mut jar))
                .await
            {
                Err(_) => {
                    report.error(format!(
                        "no response within {SUSTAINED_REQUEST_TIMEOUT:?} (request {})",
                        report.requests
                    ));
                    conn = None;
                    continue;
                }
                Ok(Err(error)) => {
                    report.error(format!("I/O error: {error}"));
                    conn = None;
                    continue;
                }
                Ok(Ok(reply)) => reply,
            };
        if reply.closing {
            report.error("the server closed the keep-alive connection".into());
            conn = None;
        }
        if reply.status != 200 {
            report.error(format!("status {}: {:?}", reply.status, reply.body));
            continue;
        }
        match reply.body.parse::<u64>() {
            Ok(n) if n == expected => expected += 1,
            Ok(n) => {
                report.error(format!("count mismatch: expected {expected}, got {n}"));
                expected = n + 1;
            }
            Err(_) => report.error(format!("not a count: {:?}", reply.body)),
        }
    }
    report
}

/// The sustained load's figures for one backend.
struct LoadFigures {
    requests: u64,
    errors: u64,
    first_errors: Vec<String>,
    elapsed: Duration,
    /// (percent of the run, RSS in bytes) at every tenth of the run.
    rss: Vec<(u32, u64)>,
}

impl LoadFigures {
    fn rss_at(&self, percent: u32) -> Option<u64> {
        self.rss
            .iter()
            .find(|(p, _)| *p == percent)
            .map(|(_, b)| *b)
    }
}

/// Serves the counter app with `config` and drives it from [`CONNECTIONS`] connections for
/// `duration`, sampling the RSS at every tenth of it.
async fn sustained_load(config: SessionConfig, duration: Duration) -> LoadFigures {
    let server = HttpServer::start(counter_app(config)).await;
    let start = Instant::now();
    let deadline = start + duration;
    let tasks: Vec<_> = (0..CONNECTIONS)
        .map(|_| tokio::spawn(count_loop(server.addr, deadline)))
        .collect();
    let mut rss = Vec::new();
    for tenth in 1..=10u32 {
        tokio::time::sleep_until((start + duration * tenth / 10).into()).await;
        if let Some(bytes) = rss_bytes() {
            rss.push((tenth * 10, bytes));
        }
    }
    let mut figures = LoadFigures {
        requests: 0,
        errors: 0,
        first_errors: Vec::new(),
        elapsed: Duration::ZERO,
        rss,
    };
    // Every loop stops by itself at the deadline; a request may still hang for its timeout.
    for task in tasks {
        let report = tokio::time::timeout(SUSTAINED_REQUEST_TIMEOUT * 2, task)
            .await
            .expect("a load connection did not stop")
            .expect("a load connection panicked");
        figures.requests += report.requests;
        figures.errors += report.errors;
        if figures.first_errors.len() < 10 {
            figures.first_errors.extend(report.first_errors);
        }
    }
    figures.elapsed = start.elapsed();
    server.stop().await;
    figures
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "reliability: long-running; .ci/run runs them"]
async fn sustained_load_on_every_backend() {
    // Errors logged by earlier tests of this process (the restart tests) are not ours.
    let log_start = error_log().text().len();
    let duration = reliability_duration();
    let backends = [
        "signed cookie",
        "private cookie",
        "memory",
        "Redis",
        "PostgreSQL",
        "SQLite file",
        "MySQL/MariaDB",
    ];
    eprintln!(
        "sustained load: {CONNECTIONS} keep-alive connections, {}s per backend, warm-up {WARM_UP_PERCENT}%",
        duration.as_secs()
    );
    let mut failures = Vec::new();
    let wanted = std::env::var("RELIABILITY_BACKENDS").unwrap_or_default();
    let wanted: Vec<String> = wanted
        .split(',')
        .map(|w| w.trim().to_lowercase())
        .filter(|w| !w.is_empty())
        .collect();
    for name in backends {
        if !wanted.is_empty() && !wanted.iter().any(|w| name.to_lowercase().contains(w)) {
            continue;
        }
        let Some(target) = target(name).await else {
            continue;
        };
        let figures = sustained_load(target.config.clone(), duration).await;
        drop(target);
        let seconds = figures.elapsed.as_secs_f64();
        let (warm, end) = (figures.rss_at(WARM_UP_PERCENT), figures.rss_at(100));
        let trace: Vec<String> = figures
            .rss
            .iter()
            .map(|(percent, bytes)| format!("{percent}%:{:.1}", mib(*bytes)))
            .collect();
        eprintln!(
            "{name:>14}: {} requests in {seconds:.1}s = {:.0} req/s, {} errors; RSS MiB at warm-up {}, at end {}, growth {} (trace {})",
            figures.requests,
            figures.requests as f64 / seconds,
            figures.errors,
            warm.map_or("?".into(), |b| format!("{:.1}", mib(b))),
            end.map_or("?".into(), |b| format!("{:.1}", mib(b))),
            match (warm, end) {
                (Some(w), Some(e)) => format!("{:+.2}", mib(e) - mib(w)),
                _ => "?".into(),
            },
            trace.join(" "),
        );
        if figures.errors > 0 {
            failures.push(format!(
                "{name}: {} errors in {} requests, first: {:?}",
                figures.errors, figures.requests, figures.first_errors
            ));
        }
        if figures.requests < CONNECTIONS as u64 {
            failures.push(format!("{name}: only {} requests", figures.requests));
        }
        if let (Some(warm), Some(end)) = (warm, end) {
            if end > warm + MAX_RSS_GROWTH {
                failures.push(format!(
                    "{name}: RSS grew by {:.1} MiB after warm-up ({:.1} -> {:.1} MiB), more than {:.0} MiB",
                    mib(end - warm),
                    mib(warm),
                    mib(end),
                    mib(MAX_RSS_GROWTH)
                ));
            }
        }
    }
    let logged = error_log().text()[log_start..].to_owned();
    if !logged.is_empty() {
        let lines: Vec<&str> = logged.lines().collect();
        failures.push(format!(
            "{} error lines were logged, first:\n{}",
            lines.len(),
            lines[..lines.len().min(5)].join("\n")
        ));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
