//! Reliability: sustained load on every backend, and Redis and PostgreSQL restarted under load,
//! all over real TCP (`axum::serve` on 127.0.0.1:0, driven by a small HTTP/1.1 client written
//! here, one cookie jar per keep-alive connection, as browsers keep them).
//!
//! Long-running, hence ignored by the normal `cargo test`; run them with
//!
//! ```sh
//! cargo test --all-features --test reliability -- --ignored --test-threads=1
//! ```
//!
//! `RELIABILITY_SECONDS` (default 60) sets how long the sustained load runs on each backend;
//! `RELIABILITY_BACKENDS` (default: all) picks some of them, by case-insensitive substrings of
//! their names separated by commas (`RELIABILITY_BACKENDS=redis,sqlite`).
//! The restart tests start servers of their own (a `redis-server` child, a PostgreSQL cluster
//! made by `initdb` in a temporary directory) and never touch the shared ones beyond a unique
//! key prefix or table.
#![cfg_attr(
    not(all(
        feature = "redis",
        feature = "postgres",
        feature = "sqlite",
        feature = "mysql"
    )),
    allow(dead_code, unused_imports)
)]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use axum::routing::get;
use axum::Router;
use axum_session_store::{
    SessionBackend, SessionConfig, SessionConfigBuilder, SessionError, MEMORY, PRIVATE_COOKIE,
};
use common::private_redis::{free_port, PrivateRedis};
use common::servers::{self, Fixture};
use common::{app, Logs};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

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

/// Connections of the restart tests, each setting a fresh key in its session per request.
const WRITERS: usize = 8;

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

/// The error lines logged by this process (a global subscriber, installed once, at `ERROR`
/// level so that the sustained load logs nothing when all goes well).
fn error_log() -> &'static Logs {
    static LOGS: OnceLock<Logs> = OnceLock::new();
    LOGS.get_or_init(|| {
        let logs = Logs::default();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(logs.clone())
            .with_ansi(false)
            .with_max_level(tracing::Level::ERROR)
            .finish();
        let _ = tracing::subscriber::set_global_default(subscriber);
        logs
    })
}

// ---- A small HTTP/1.1 client -----------------------------------------------------------------

/// A cookie jar: name to value, as a browser keeps them for one site.
type Jar = BTreeMap<String, String>;

/// A response, read whole.
#[derive(Debug)]
struct Reply {
    status: u16,
    set_cookies: Vec<String>,
    body: String,
    /// The server said `Connection: close`.
    closing: bool,
}

fn invalid(message: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message.into())
}

/// One keep-alive connection.
///
/// Written over `readable`/`try_read` and `writable`/`try_write`, which need only tokio's
/// `net` feature: the `io-util` extension traits are not among the dev-dependencies' features
/// (the drivers bring them in with `--all-features`, but not a plain `cargo test`).
struct HttpConn {
    stream: TcpStream,
    /// Bytes received and not yet consumed: `buffer[consumed..]`.
    buffer: Vec<u8>,
    consumed: usize,
}

impl HttpConn {
    async fn connect(addr: SocketAddr) -> io::Result<Self> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        Ok(Self {
            stream,
            buffer: Vec::with_capacity(4096),
            consumed: 0,
        })
    }

    /// `GET path` with the jar's cookies; the response's cookies go into the jar (a cookie
    /// set with `Max-Age=0` leaves it).
    async fn get(&mut self, path: &str, jar: &mut Jar) -> io::Result<Reply> {
        let mut request = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n");
        if !jar.is_empty() {
            let cookies: Vec<String> = jar.iter().map(|(n, v)| format!("{n}={v}")).collect();
            request.push_str(&format!("Cookie: {}\r\n", cookies.join("; ")));
        }
        request.push_str("\r\n");
        self.write_all(request.as_bytes()).await?;
        let reply = self.read_reply().await?;
        for header in &reply.set_cookies {
            let (pair, attributes) = header.split_once(';').unwrap_or((header, ""));
            let (name, value) = pair
                .split_once('=')
                .ok_or_else(|| invalid(format!("bad Set-Cookie {header:?}")))?;
            if attributes.contains("Max-Age=0") {
                jar.remove(name);
            } else {
                jar.insert(name.to_owned(), value.to_owned());
            }
        }
        Ok(reply)
    }

    async fn write_all(&self, mut bytes: &[u8]) -> io::Result<()> {
        while !bytes.is_empty() {
            self.stream.writable().await?;
            match self.stream.try_write(bytes) {
                Ok(written) => bytes = &bytes[written..],
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => {}
                Err(error) => return Err(error),
            }
        }
        Ok(())
    }

    /// Receives more bytes into the buffer; the end of the stream is an error, since a
    /// response is always awaited when this is called.
    async fn receive(&mut self) -> io::Result<()> {
        if self.consumed == self.buffer.len() {
            self.buffer.clear();
            self.consumed = 0;
        }
        let mut chunk = [0u8; 4096];
        loop {
            self.stream.readable().await?;
            match self.stream.try_read(&mut chunk) {
                Ok(0) => {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "the server closed the connection",
                    ))
                }
                Ok(n) => {
                    self.buffer.extend_from_slice(&chunk[..n]);
                    return Ok(());
                }
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => {}
                Err(error) => return Err(error),
            }
        }
    }

    /// The next line, without its line ending.
    async fn read_line(&mut self) -> io::Result<String> {
        loop {
            let pending = &self.buffer[self.consumed..];
            if let Some(end) = pending.iter().position(|&b| b == b'\n') {
                let line = String::from_utf8(pending[..end].to_vec())
                    .map_err(|_| invalid("a header line is not UTF-8"))?;
                self.consumed += end + 1;
                return Ok(line.trim_end_matches('\r').to_owned());
            }
            if pending.len() > 64 * 1024 {
                return Err(invalid("a header line over 64 KiB"));
            }
            self.receive().await?;
        }
    }

    /// The next `len` bytes.
    async fn read_exact(&mut self, len: usize) -> io::Result<Vec<u8>> {
        while self.buffer.len() - self.consumed < len {
            self.receive().await?;
        }
        let bytes = self.buffer[self.consumed..self.consumed + len].to_vec();
        self.consumed += len;
        Ok(bytes)
    }

    async fn read_reply(&mut self) -> io::Result<Reply> {
        let line = self.read_line().await?;
        let status = line
            .split_whitespace()
            .nth(1)
            .and_then(|code| code.parse::<u16>().ok())
            .ok_or_else(|| invalid(format!("bad status line {line:?}")))?;
        let (mut length, mut chunked, mut closing) = (0, false, false);
        let mut set_cookies = Vec::new();
        loop {
            let header = self.read_line().await?;
            if header.is_empty() {
                break;
            }
            let (name, value) = header
                .split_once(':')
                .ok_or_else(|| invalid(format!("bad header {header:?}")))?;
            let value = value.trim();
            match name.to_ascii_lowercase().as_str() {
                "content-length" => {
                    length = value
                        .parse()
                        .map_err(|_| invalid(format!("bad Content-Length {value:?}")))?;
                }
                "transfer-encoding" => chunked = value.eq_ignore_ascii_case("chunked"),
                "connection" => closing = value.eq_ignore_ascii_case("close"),
                "set-cookie" => set_cookies.push(value.to_owned()),
                _ => {}
            }
        }
        let body = if chunked {
            self.read_chunked().await?
        } else {
            self.read_exact(length).await?
        };
        Ok(Reply {
            status,
            set_cookies,
            body: String::from_utf8(body).map_err(|_| invalid("the body is not UTF-8"))?,
            closing,
        })
    }

    async fn read_chunked(&mut self) -> io::Result<Vec<u8>> {
        let mut body = Vec::new();
        loop {
            let line = self.read_line().await?;
            let size = line.split(';').next().unwrap_or_default().trim();
            let size = usize::from_str_radix(size, 16)
                .map_err(|_| invalid(format!("bad chunk size {line:?}")))?;
            if size == 0 {
                // Trailers, up to the empty line.
                while !self.read_line().await?.is_empty() {}
                return Ok(body);
            }
            body.extend(self.read_exact(size).await?);
            if !self.read_line().await?.is_empty() {
                return Err(invalid("a chunk is longer than its size"));
            }
        }
    }
}

// ---- The app, served over TCP ----------------------------------------------------------------

/// `app` served by `axum::serve` on a free port of 127.0.0.1, until stopped or dropped.
struct HttpServer {
    addr: SocketAddr,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl HttpServer {
    async fn start(app: Router) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (shutdown, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await
                .unwrap();
        });
        Self {
            addr,
            shutdown: Some(shutdown),
            task: Some(task),
        }
    }

    /// Shuts down gracefully (every client has gone by then), or aborts after 10 s.
    async fn stop(mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(task) = self.task.take() {
            let abort = task.abort_handle();
            if tokio::time::timeout(Duration::from_secs(10), task)
                .await
                .is_err()
            {
                abort.abort();
                panic!("the HTTP server did not shut down within 10 s");
            }
        }
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

// ---- Sustained load --------------------------------------------------------------------------

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
    let mut jar = Jar::new();
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

/// A backend to put under load: its config, and what removes its traces afterwards.
struct Target {
    config: SessionConfig,
    _cleanup: Option<Fixture>,
}

fn builder() -> SessionConfigBuilder {
    SessionConfig::builder().secret_key(common::SECRET)
}

/// A config whose default session is kept by `backend`, with `cleanup` to run at the end.
fn server_target(
    backend: Arc<dyn SessionBackend>,
    cleanup: impl FnOnce() + Send + 'static,
) -> Target {
    let fixture = Fixture::with_cleanup(backend.clone(), cleanup);
    let config = builder()
        .shared_backend("server", backend)
        .default_backend("server")
        .build()
        .unwrap();
    Target {
        config,
        _cleanup: Some(fixture),
    }
}

/// The backend `name`, ready; `None` after a "skipped:" line when its server is unreachable
/// (a failure instead under `SESSION_TESTS_REQUIRE_SERVERS=1`) or its feature is off.
async fn target(name: &str) -> Option<Target> {
    let cookie_or_memory = |backend: &str| Target {
        config: builder().default_backend(backend).build().unwrap(),
        _cleanup: None,
    };
    match name {
        "signed cookie" => Some(cookie_or_memory("securecookie")),
        "private cookie" => Some(cookie_or_memory(PRIVATE_COOKIE)),
        "memory" => Some(cookie_or_memory(MEMORY)),
        #[cfg(feature = "redis")]
        "Redis" => shared::redis().await,
        #[cfg(feature = "postgres")]
        "PostgreSQL" => shared::postgres().await,
        #[cfg(feature = "sqlite")]
        "SQLite file" => Some(shared::sqlite().await),
        #[cfg(feature = "mysql")]
        "MySQL/MariaDB" => shared::mysql().await,
        _ => {
            if servers::servers_required() {
                panic!(
                    "{name}: this test was built without its cargo feature (use --all-features)"
                );
            }
            eprintln!("skipped: {name}: built without its cargo feature");
            None
        }
    }
}

/// The backends on the shared servers, under unique key prefixes and tables.
mod shared {
    #[cfg(feature = "mysql")]
    use axum_session_store::MySqlBackend;
    #[cfg(feature = "postgres")]
    use axum_session_store::PostgresBackend;
    #[cfg(feature = "redis")]
    use axum_session_store::RedisBackend;
    #[cfg(feature = "sqlite")]
    use axum_session_store::SqliteBackend;

    use super::*;

    #[cfg(feature = "redis")]
    pub(super) async fn redis() -> Option<Target> {
        use deadpool_redis::redis;
        let url = servers::redis_url();
        let pool = deadpool_redis::Config::from_url(url.clone())
            .create_pool(Some(deadpool_redis::Runtime::Tokio1))
            .unwrap();
        let ping = async {
            let mut conn = pool.get().await.map_err(|e| e.to_string())?;
            redis::cmd("PING")
                .query_async::<String>(&mut conn)
                .await
                .map_err(|e| e.to_string())
        };
        if let Err(error) = ping.await {
            servers::unreachable_server("Redis", error);
            return None;
        }
        let prefix = format!("{}:", servers::unique_name("reliability"));
        let backend = RedisBackend::new(pool).key_prefix(prefix.clone());
        Some(server_target(Arc::new(backend), move || {
            let deleted = servers::block_on(servers::delete_redis_keys(url, format!("{prefix}*")));
            if let Err(error) = deleted {
                eprintln!("could not delete the test's Redis keys: {error}");
            }
        }))
    }

    #[cfg(feature = "postgres")]
    pub(super) async fn postgres() -> Option<Target> {
        use sqlx::Connection;
        let connected = sqlx::postgres::PgPoolOptions::new()
            .max_connections(10)
            .acquire_timeout(Duration::from_secs(30))
            .connect(&servers::postgres_url())
            .await;
        let pool = match connected {
            Ok(pool) => pool,
            Err(error) => {
                servers::unreachable_server("PostgreSQL", error);
                return None;
            }
        };
        let table = servers::unique_name("reliability");
        let backend = Arc::new(PostgresBackend::with_table(pool, &table).unwrap());
        let target = server_target(backend.clone(), move || {
            servers::block_on(async {
                let mut connection = sqlx::PgConnection::connect(&servers::postgres_url())
                    .await
                    .unwrap();
                sqlx::raw_sql(&format!(r#"DROP TABLE IF EXISTS "{table}""#))
                    .execute(&mut connection)
                    .await
                    .unwrap();
            });
        });
        backend.migrate().await.unwrap();
        Some(target)
    }

    #[cfg(feature = "sqlite")]
    pub(super) async fn sqlite() -> Target {
        use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};
        let dir = std::env::temp_dir().join(servers::unique_name("axum_session_store_reliability"));
        std::fs::create_dir(&dir).unwrap();
        let options = SqliteConnectOptions::new()
            .filename(dir.join("sessions.db"))
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .busy_timeout(Duration::from_secs(30));
        let pool = SqlitePoolOptions::new()
            .max_connections(5)
            .connect_with(options)
            .await
            .unwrap();
        let backend = Arc::new(SqliteBackend::new(pool));
        let target = server_target(backend.clone(), move || {
            std::fs::remove_dir_all(&dir).unwrap();
        });
        backend.migrate().await.unwrap();
        target
    }

    #[cfg(feature = "mysql")]
    pub(super) async fn mysql() -> Option<Target> {
        use sqlx::Connection;
        let connected = sqlx::mysql::MySqlPoolOptions::new()
            .max_connections(10)
            .acquire_timeout(Duration::from_secs(30))
            .connect(&servers::mysql_url())
            .await;
        let pool = match connected {
            Ok(pool) => pool,
            Err(error) => {
                servers::unreachable_server("MySQL", error);
                return None;
            }
        };
        let table = servers::unique_name("reliability");
        let backend = Arc::new(MySqlBackend::with_table(pool, &table).unwrap());
        let target = server_target(backend.clone(), move || {
            servers::block_on(async {
                let mut connection = sqlx::MySqlConnection::connect(&servers::mysql_url())
                    .await
                    .unwrap();
                sqlx::raw_sql(&format!("DROP TABLE IF EXISTS `{table}`"))
                    .execute(&mut connection)
                    .await
                    .unwrap();
            });
        });
        backend.migrate().await.unwrap();
        Some(target)
    }
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

// ---- Restarts under load ---------------------------------------------------------------------

/// A server that can be crashed and started again.
trait Restartable {
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
    /// The failure the crate promises: 500, body "Internal Server Error", no `Set-Cookie`.
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
    jar: Jar,
    /// How often the session's record id changed (a new record was made for this client).
    id_changes: usize,
}

/// The record id in the `session` cookie of `jar`, if any.
fn session_id(config: &SessionConfig, jar: &Jar) -> Option<String> {
    common::session_id_in(config, "session", jar.get("session")?)
}

/// Sets `k{writer}_{n}` = n in the session, for n = 1, 2, ..., until `stop`.
async fn write_loop(
    writer: usize,
    addr: SocketAddr,
    config: SessionConfig,
    stop: Arc<AtomicBool>,
) -> Writer {
    let mut jar = Jar::new();
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
async fn stored_values(addr: SocketAddr, jar: &Jar) -> Result<serde_json::Value, String> {
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
async fn restart_under_load(
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
        "{label}: {WRITERS} connections, {requests} requests in {}: {ok} ok, {refused} refused (500); \
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

/// Prints a "skipped:" line, or panics under `SESSION_TESTS_REQUIRE_SERVERS=1`.
fn skip(reason: &str) {
    if servers::servers_required() {
        panic!("required (SESSION_TESTS_REQUIRE_SERVERS=1): {reason}");
    }
    eprintln!("skipped: {reason}");
}

/// A fresh, empty directory under the system's temporary directory.
fn temp_dir(prefix: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(servers::unique_name(prefix));
    std::fs::create_dir(&dir).unwrap();
    dir
}

// ---- Redis -----------------------------------------------------------------------------------

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
    use axum_session_store::RedisBackend;
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
        .backend("redis", RedisBackend::new(pool))
        .default_backend("redis")
        .build()
        .unwrap();
    restart_under_load("Redis restart", "Redis", config, &mut server).await;
}

// ---- PostgreSQL ------------------------------------------------------------------------------

/// A PostgreSQL cluster of our own: made by `initdb` in a temporary directory (as the
/// `postgres` OS user when we are root, since PostgreSQL refuses to run as root), trust
/// authentication, default durability (`fsync` and `synchronous_commit` on), listening on
/// 127.0.0.1 at a free port. Stopped, and its directory removed, on drop.
struct OwnPostgres {
    bin: PathBuf,
    root: PathBuf,
    port: u16,
    as_postgres_user: bool,
    running: bool,
}

impl OwnPostgres {
    /// Where `initdb` and `pg_ctl` are: `pg_config --bindir`, then `PATH`, then the newest
    /// `/usr/lib/postgresql/<version>/bin`.
    fn find_bin() -> Option<PathBuf> {
        let mut candidates = Vec::new();
        if let Ok(output) = Command::new("pg_config").arg("--bindir").output() {
            if output.status.success() {
                candidates.push(PathBuf::from(
                    String::from_utf8_lossy(&output.stdout).trim(),
                ));
            }
        }
        if let Some(path) = std::env::var_os("PATH") {
            candidates.extend(std::env::split_paths(&path));
        }
        if let Ok(entries) = std::fs::read_dir("/usr/lib/postgresql") {
            let mut versions: Vec<(u32, PathBuf)> = entries
                .filter_map(Result::ok)
                .filter_map(|e| {
                    let version = e.file_name().to_str()?.parse().ok()?;
                    Some((version, e.path().join("bin")))
                })
                .collect();
            versions.sort_by_key(|(version, _)| std::cmp::Reverse(*version));
            candidates.extend(versions.into_iter().map(|(_, bin)| bin));
        }
        candidates
            .into_iter()
            .find(|dir| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file())
    }

    fn start() -> Option<Self> {
        let Some(bin) = Self::find_bin() else {
            skip("initdb and pg_ctl not found (PATH, pg_config, /usr/lib/postgresql/*/bin)");
            return None;
        };
        let as_postgres_user = Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
        let root = temp_dir("axum_session_store_pg");
        // From here on, drop removes the directory (and stops the server once started).
        let mut server = Self {
            bin,
            root,
            port: free_port(),
            as_postgres_user,
            running: false,
        };
        if as_postgres_user {
            let output = Command::new("chown")
                .arg("postgres:")
                .arg(&server.root)
                .output();
            match output {
                Ok(output) if output.status.success() => {}
                other => {
                    skip(&format!(
                        "running as root, but the directory cannot be given to the postgres \
                         user: {other:?}"
                    ));
                    return None;
                }
            }
        }
        let data = server.data();
        server
            .run(
                "initdb",
                &[
                    "-D".as_ref(),
                    data.as_os_str(),
                    "-A".as_ref(),
                    "trust".as_ref(),
                    "-U".as_ref(),
                    "postgres".as_ref(),
                    "-E".as_ref(),
                    "UTF8".as_ref(),
                    "--locale=C".as_ref(),
                ],
            )
            .unwrap_or_else(|error| panic!("initdb failed: {error}"));
        server.start_again();
        Some(server)
    }

    fn data(&self) -> PathBuf {
        self.root.join("data")
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Runs `program` from the cluster's binaries, as the `postgres` user when we are root.
    fn run(&self, program: &str, args: &[&std::ffi::OsStr]) -> Result<Output, String> {
        let path = self.bin.join(program);
        let mut command = if self.as_postgres_user {
            let mut command = Command::new("runuser");
            command.args(["-u", "postgres", "--"]).arg(&path);
            command
        } else {
            Command::new(&path)
        };
        let output = command
            .args(args)
            .current_dir(&self.root)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("{}: {e}", path.display()))?;
        if output.status.success() {
            Ok(output)
        } else {
            Err(format!(
                "{program} {args:?}: {}\n{}\n{}\nserver log:\n{}",
                output.status,
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr),
                std::fs::read_to_string(self.root.join("server.log")).unwrap_or_default()
            ))
        }
    }

    fn pg_ctl(&self, args: &[&str]) -> Result<Output, String> {
        let data = self.data();
        let mut all: Vec<&std::ffi::OsStr> = vec!["-D".as_ref(), data.as_os_str()];
        all.extend(args.iter().map(|a| std::ffi::OsStr::new(*a)));
        self.run("pg_ctl", &all)
    }

    /// `pg_ctl stop -m immediate`: every server process quits at once, without a checkpoint,
    /// as in a crash; the next start runs crash recovery from the WAL.
    fn stop_immediately(&mut self) -> Result<(), String> {
        self.pg_ctl(&["-w", "-t", "60", "-m", "immediate", "stop"])?;
        self.running = false;
        Ok(())
    }
}

impl Restartable for OwnPostgres {
    fn crash(&mut self) {
        self.stop_immediately().expect("pg_ctl stop -m immediate");
    }

    fn start_again(&mut self) {
        let log = self.root.join("server.log");
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1",
            self.port,
            self.root.display()
        );
        let log = log.to_string_lossy().into_owned();
        self.pg_ctl(&[
            "-w",
            "-t",
            "60",
            "-l",
            log.as_str(),
            "-o",
            options.as_str(),
            "start",
        ])
        .unwrap_or_else(|error| panic!("pg_ctl start failed: {error}"));
        self.running = true;
    }
}

impl Drop for OwnPostgres {
    fn drop(&mut self) {
        if self.running {
            if let Err(error) = self.stop_immediately() {
                eprintln!("could not stop the test's PostgreSQL: {error}");
            }
        }
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

#[cfg(feature = "postgres")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "reliability: long-running; .ci/run runs them"]
async fn postgres_restart_during_load_loses_no_acknowledged_write() {
    use axum_session_store::PostgresBackend;
    use sqlx::postgres::PgPoolOptions;

    let Some(mut server) = tokio::task::block_in_place(OwnPostgres::start) else {
        return;
    };
    // A short acquire timeout, so that requests fail fast while the server is down: sqlx
    // retries a refused connection until then.
    let pool = PgPoolOptions::new()
        .max_connections(WRITERS as u32)
        .acquire_timeout(Duration::from_secs(1))
        .connect(&server.url())
        .await
        .unwrap();
    for (setting, expected) in [("fsync", "on"), ("synchronous_commit", "on")] {
        let value: String = sqlx::query_scalar(&format!("SHOW {setting}"))
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!(value, expected, "{setting}");
    }
    let backend = PostgresBackend::new(pool);
    backend.migrate().await.unwrap();
    let config = builder()
        .backend("postgres", backend)
        .default_backend("postgres")
        .build()
        .unwrap();
    restart_under_load("PostgreSQL restart", "PostgreSQL", config, &mut server).await;
}

#[test]
fn http_client_reads_chunked_and_sized_bodies() {
    // The client itself, against a canned server (on a thread, std sockets): a sized body, a
    // chunked one delivered a byte at a time, and cookies in and out.
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = std::thread::spawn(move || {
        let (mut socket, _) = listener.accept().unwrap();
        socket.set_nodelay(true).unwrap();
        let mut seen = Vec::new();
        for (response, bytewise) in [
            (
                "HTTP/1.1 200 OK\r\ncontent-length: 2\r\nset-cookie: a=1; Path=/\r\n\r\nhi",
                false,
            ),
            (
                "HTTP/1.1 500 Internal Server Error\r\ntransfer-encoding: chunked\r\n\
                 set-cookie: a=; Max-Age=0\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\n",
                true,
            ),
        ] {
            let mut request = Vec::new();
            while !request.ends_with(b"\r\n\r\n") {
                let mut byte = [0u8; 1];
                socket.read_exact(&mut byte).unwrap();
                request.push(byte[0]);
            }
            seen.push(String::from_utf8(request).unwrap());
            if bytewise {
                for byte in response.as_bytes() {
                    socket.write_all(&[*byte]).unwrap();
                }
            } else {
                socket.write_all(response.as_bytes()).unwrap();
            }
        }
        seen
    });
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let mut jar = Jar::new();
        let mut http = HttpConn::connect(addr).await.unwrap();
        let first = http.get("/x", &mut jar).await.unwrap();
        assert_eq!((first.status, first.body.as_str()), (200, "hi"));
        assert_eq!(jar.get("a").map(String::as_str), Some("1"));
        let second = http.get("/y", &mut jar).await.unwrap();
        assert_eq!((second.status, second.body.as_str()), (500, "abcde"));
        assert!(jar.is_empty());
    });
    let seen = server.join().unwrap();
    assert!(!seen[0].contains("Cookie"), "{}", seen[0]);
    assert!(seen[1].contains("Cookie: a=1\r\n"), "{}", seen[1]);
}
