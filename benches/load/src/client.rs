//! The load generator: N HTTP/1.1 keep-alive connections, each with its own cookie jar like a
//! browser, each sending its next request as soon as the previous answer is read (closed loop).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper::client::conn::http1::SendRequest;
use hyper::header::{COOKIE, HOST, SET_COOKIE};
use hyper::{Request, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use axum_session_store::test_util::CookieJar;

/// What each request does to the session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Workload {
    /// `GET /`: read the counter, add one, write it back; the body is the new value.
    Write,
    /// `GET /` once per connection (untimed) to create the session with counter 1, then
    /// `GET /read`: the counter is read, the session is not changed.
    Read,
}

impl Workload {
    pub fn name(self) -> &'static str {
        match self {
            Workload::Write => "write",
            Workload::Read => "read",
        }
    }
}

/// How one contender is driven.
#[derive(Clone, Debug)]
pub struct LoadSpec {
    pub addr: SocketAddr,
    pub workload: Workload,
    /// Whether the body is checked against the connection's own counter (not for bare axum,
    /// which keeps no session).
    pub verify: bool,
    pub connections: usize,
    pub warmup: Duration,
    pub duration: Duration,
    /// At most this many requests in all, warm-up included.
    pub max_requests: u64,
}

/// What the connections measured between the end of the warm-up and the deadline.
#[derive(Debug, Default)]
pub struct LoadStats {
    /// Latency of each request that completed in the window, in nanoseconds.
    pub latencies_ns: Vec<u64>,
    /// Requests that completed in the window, with a right answer.
    pub ok: u64,
    /// Requests that completed in the window with a wrong status or body, or failed.
    pub errors: u64,
    /// Errors during the warm-up or the session set-up (not in `errors`).
    pub warmup_errors: u64,
    /// A few error messages, to print.
    pub error_samples: Vec<String>,
    /// The window the rates are computed over.
    pub window: Duration,
    /// Every connection's cookies at the end (`name`, `value`), for cleaning up server records.
    pub jars: Vec<Vec<(String, String)>>,
    /// Set when the request cap stopped the run before the deadline.
    pub capped: bool,
    /// Requests answered from start to finish, warm-up and set-up included (the denominator
    /// of CPU time per request).
    pub answered: u64,
}

impl LoadStats {
    fn merge(&mut self, other: ConnStats) {
        self.latencies_ns.extend(other.latencies_ns);
        self.ok += other.ok;
        self.answered += other.answered;
        self.errors += other.errors;
        self.warmup_errors += other.warmup_errors;
        for sample in other.error_samples {
            if self.error_samples.len() < 5 {
                self.error_samples.push(sample);
            }
        }
        self.jars.push(
            other
                .jar
                .iter()
                .map(|(name, value)| (name.to_owned(), value.to_owned()))
                .collect(),
        );
    }
}

#[derive(Default)]
struct ConnStats {
    latencies_ns: Vec<u64>,
    ok: u64,
    answered: u64,
    errors: u64,
    warmup_errors: u64,
    error_samples: Vec<String>,
    jar: CookieJar,
}

impl ConnStats {
    fn error(&mut self, in_window: bool, message: String) {
        if in_window {
            self.errors += 1;
        } else {
            self.warmup_errors += 1;
        }
        if self.error_samples.len() < 2 {
            self.error_samples.push(message);
        }
    }
}

/// Runs the load against `spec.addr` and returns what was measured.
pub async fn run(spec: LoadSpec) -> LoadStats {
    let spec = Arc::new(spec);
    let issued = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let tasks: Vec<_> = (0..spec.connections)
        .map(|_| tokio::spawn(connection(spec.clone(), issued.clone(), start)))
        .collect();
    let mut stats = LoadStats::default();
    for task in tasks {
        match task.await {
            Ok(conn) => stats.merge(conn),
            Err(e) => {
                stats.errors += 1;
                stats.error_samples.push(format!("client task failed: {e}"));
            }
        }
    }
    let window_end = (start + spec.warmup + spec.duration).min(Instant::now());
    stats.window = window_end.saturating_duration_since(start + spec.warmup);
    stats.capped = issued.load(Relaxed) >= spec.max_requests;
    stats
}

type Sender = SendRequest<Empty<Bytes>>;

async fn connect(addr: SocketAddr) -> Result<Sender, String> {
    let stream = TcpStream::connect(addr)
        .await
        .map_err(|e| format!("connect: {e}"))?;
    stream
        .set_nodelay(true)
        .map_err(|e| format!("nodelay: {e}"))?;
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| format!("handshake: {e}"))?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(sender)
}

/// One answer: status and body (its `Set-Cookie` values went into the jar).
struct Answer {
    status: StatusCode,
    body: Bytes,
}

async fn send(
    sender: &mut Sender,
    path: &'static str,
    jar: &mut CookieJar,
) -> Result<Answer, String> {
    let mut request = Request::get(path)
        .header(HOST, "127.0.0.1")
        .body(Empty::<Bytes>::new())
        .map_err(|e| format!("request: {e}"))?;
    if let Some(cookie) = jar.header() {
        request.headers_mut().insert(COOKIE, cookie.clone());
    }
    sender
        .ready()
        .await
        .map_err(|e| format!("connection: {e}"))?;
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| format!("send: {e}"))?;
    let status = response.status();
    for set_cookie in response.headers().get_all(SET_COOKIE) {
        if let Ok(set_cookie) = set_cookie.to_str() {
            jar.store(set_cookie);
        }
    }
    let body = response
        .into_body()
        .collect()
        .await
        .map_err(|e| format!("body: {e}"))?
        .to_bytes();
    Ok(Answer { status, body })
}

async fn connection(spec: Arc<LoadSpec>, issued: Arc<AtomicU64>, start: Instant) -> ConnStats {
    let warm_end = start + spec.warmup;
    let end = warm_end + spec.duration;
    let mut stats = ConnStats {
        latencies_ns: Vec::with_capacity(16 * 1024),
        ..ConnStats::default()
    };
    let mut sender: Option<Sender> = None;
    // Write: the value the next answer must carry. Read: the value every read must carry.
    let mut expected: u64 = 1;
    // Read workload: whether this connection's session was created.
    let mut created = spec.workload == Workload::Write;

    loop {
        if Instant::now() >= end || issued.fetch_add(1, Relaxed) >= spec.max_requests {
            break;
        }
        let mut live = match sender.take() {
            Some(live) => live,
            None => match connect(spec.addr).await {
                Ok(live) => live,
                Err(e) => {
                    stats.error(Instant::now() >= warm_end, e);
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            },
        };
        let path = if created && spec.workload == Workload::Read {
            "/read"
        } else {
            "/"
        };
        let sent_at = Instant::now();
        let result = send(&mut live, path, &mut stats.jar).await;
        let done_at = Instant::now();
        // Only requests that completed inside the window count; the set-up request of a read
        // session counts only when it fails.
        let setup = !created;
        let in_window = done_at >= warm_end && done_at < end;
        let answer = match result {
            Ok(answer) => {
                sender = Some(live);
                stats.answered += 1;
                answer
            }
            Err(e) => {
                stats.error(in_window, e);
                continue;
            }
        };
        let verdict = check(&spec, &answer, created, &mut expected);
        if !created {
            if verdict.is_ok() {
                created = true;
            } else {
                // Start over with a fresh session.
                stats.jar = CookieJar::new();
            }
        }
        match verdict {
            Ok(()) => {
                if in_window && !setup {
                    stats.ok += 1;
                    stats
                        .latencies_ns
                        .push(done_at.duration_since(sent_at).as_nanos() as u64);
                }
            }
            Err(e) => {
                if in_window && !setup {
                    stats
                        .latencies_ns
                        .push(done_at.duration_since(sent_at).as_nanos() as u64);
                }
                stats.error(in_window, e);
            }
        }
    }
    stats
}

/// Checks an answer: status 200 and, when verifying, the counter the session should hold.
fn check(
    spec: &LoadSpec,
    answer: &Answer,
    created: bool,
    expected: &mut u64,
) -> Result<(), String> {
    if answer.status != StatusCode::OK {
        return Err(format!(
            "status {}: {}",
            answer.status,
            String::from_utf8_lossy(&answer.body)
        ));
    }
    if !spec.verify {
        return Ok(());
    }
    let got: Option<u64> = std::str::from_utf8(&answer.body)
        .ok()
        .and_then(|s| s.trim().parse().ok());
    let Some(got) = got else {
        return Err(format!(
            "body is not a counter: {:?}",
            String::from_utf8_lossy(&answer.body)
        ));
    };
    match spec.workload {
        Workload::Write => {
            let want = *expected;
            // Follow the server from here on, so one lost update counts once.
            *expected = got + 1;
            if got == want {
                Ok(())
            } else {
                Err(format!("counter mismatch: expected {want}, got {got}"))
            }
        }
        Workload::Read if !created => {
            if got == 1 {
                Ok(())
            } else {
                Err(format!("new session: expected counter 1, got {got}"))
            }
        }
        Workload::Read => {
            if got == *expected {
                Ok(())
            } else {
                Err(format!("read: expected counter {}, got {got}", *expected))
            }
        }
    }
}
