//! Server-side cost per request, without the network: allocations and time per request of each
//! contender's router, driven in-process with `tower::ServiceExt::oneshot`.
//!
//! The load benchmark measures whole requests over loopback, where the kernel, hyper and the
//! load generator take most of the CPU. This binary takes them away: it hands each router a
//! request with the cookies a browser would send, collects the body, and updates its cookie
//! jar (the crate's `test_util::CookieJar`, as the load client) from the `Set-Cookie` headers. Only the `oneshot` call and reading
//! the body are counted. The contenders are the ones that need no server: `bare-axum`,
//! `axum-extra-signed`, `ours-cookie`, `ts-memory`, `ours-memory`.
//!
//! ```text
//! cargo run --release --manifest-path benches/load/Cargo.toml --bin handler-cost --
//!     [--requests 200000] [--only ours]
//! ```
//!
//! For instruction counts, which do not depend on what else the machine is doing,
//! `benches/instructions.sh` runs each contender under callgrind with two request counts and
//! subtracts.

use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::header::{COOKIE, SET_COOKIE};
use axum::http::{Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use tower::ServiceExt;

use axum_session_store::test_util::CookieJar;
use axum_session_store_load::contenders::{self, Contender, Servers, OPERATING};
use axum_session_store_load::counting::{Counting, Snapshot};

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Requests sent before counting starts: the same for every run, so that two runs of different
/// lengths differ by exactly their measured requests (see `benches/instructions.sh`).
const WARMUP_REQUESTS: u64 = 1000;

/// The contenders that need no Redis or PostgreSQL.
const LOCAL: [Contender; 5] = [
    Contender::Bare,
    Contender::ExtraSigned,
    Contender::OursCookie,
    Contender::TsMemory,
    Contender::OursMemory,
];

#[derive(Clone, Copy, PartialEq, Eq)]
enum Workload {
    Write,
    Read,
}

struct Args {
    requests: u64,
    only: Vec<String>,
    workloads: Vec<Workload>,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        requests: 200_000,
        only: Vec::new(),
        workloads: vec![Workload::Write, Workload::Read],
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--requests" => {
                args.requests = value()?.parse().map_err(|e| format!("--requests: {e}"))?;
            }
            "--only" => args.only = value()?.split(',').map(str::to_owned).collect(),
            "--workloads" => {
                args.workloads = value()?
                    .split(',')
                    .map(|w| match w {
                        "write" => Ok(Workload::Write),
                        "read" => Ok(Workload::Read),
                        other => Err(format!("unknown workload {other}")),
                    })
                    .collect::<Result<_, _>>()?;
            }
            other => {
                return Err(format!(
                    "unknown flag {other}\nusage: handler-cost [--requests N] [--only NAME,..] \
                     [--workloads write,read]"
                ))
            }
        }
    }
    Ok(args)
}

/// What one contender's requests cost.
#[derive(Default)]
struct Cost {
    requests: u64,
    allocated: Snapshot,
    time: Duration,
}

/// Sends one request through the router, counting only the router's part; returns the body.
async fn send(
    router: &Router,
    jar: &mut CookieJar,
    path: &str,
    cost: &mut Cost,
) -> (StatusCode, String) {
    // A browser's user agent, which only session metadata reads.
    let mut request = Request::get(path)
        .header(
            "user-agent",
            "Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0",
        )
        .body(Body::empty())
        .expect("request");
    if let Some(cookie) = jar.header() {
        request.headers_mut().insert(COOKIE, cookie.clone());
    }
    let (counted, start) = (Snapshot::now(), Instant::now());
    let response = router.clone().oneshot(request).await.expect("infallible");
    let (parts, body) = response.into_parts();
    let body = body.collect().await.expect("body").to_bytes();
    cost.time += start.elapsed();
    cost.allocated.add(Snapshot::now().since(counted));
    cost.requests += 1;
    for value in parts.headers.get_all(SET_COOKIE) {
        if let Ok(set_cookie) = value.to_str() {
            jar.store(set_cookie);
        }
    }
    (parts.status, String::from_utf8_lossy(&body).into_owned())
}

/// Runs `requests` requests of `workload` (plus a warm-up) and checks every answer.
async fn measure(
    contender: Contender,
    router: &Router,
    workload: Workload,
    requests: u64,
) -> Result<Cost, String> {
    let mut jar = CookieJar::new();
    let mut expected: u64 = 0;
    let mut warmup = Cost::default();
    let mut cost = Cost::default();
    let warmup_requests = WARMUP_REQUESTS;
    for i in 0..warmup_requests + requests {
        let counted = if i < warmup_requests {
            &mut warmup
        } else {
            &mut cost
        };
        let path = if workload == Workload::Read && expected > 0 {
            "/read"
        } else {
            expected += 1;
            "/"
        };
        let (status, body) = send(router, &mut jar, path, counted).await;
        if status != StatusCode::OK {
            return Err(format!("{}: status {status}: {body}", contender.name()));
        }
        if contender.verifies() && body != expected.to_string() {
            return Err(format!(
                "{}: expected {expected}, got {body}",
                contender.name()
            ));
        }
    }
    Ok(cost)
}

fn main() -> std::process::ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(message) => {
            eprintln!("{message}");
            return std::process::ExitCode::from(2);
        }
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let servers = Servers {
        redis_url: String::new(),
        postgres_url: String::new(),
        redis_pool: 1,
        pg_pool: 1,
        run_id: "handler_cost".to_owned(),
    };
    println!(
        "| contender | workload | requests | allocations / req | reallocations / req | bytes / req | µs / req |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|");
    let mut failed = false;
    // The operating contenders only when named.
    let operating = OPERATING
        .into_iter()
        .filter(|c| args.only.iter().any(|o| c.name() == o.as_str()));
    for contender in LOCAL.into_iter().chain(operating) {
        let name = contender.name();
        if !args.only.is_empty() && !args.only.iter().any(|o| name.contains(o.as_str())) {
            continue;
        }
        for &workload in &args.workloads {
            let result = runtime.block_on(async {
                let prepared = contenders::prepare(contender, &servers, "local").await?;
                measure(contender, &prepared.router, workload, args.requests).await
            });
            let workload_name = match workload {
                Workload::Write => "write",
                Workload::Read => "read",
            };
            match result {
                Ok(cost) => {
                    let n = cost.requests.max(1);
                    println!(
                        "| {name} | {workload_name} | {} | {:.1} | {:.1} | {:.0} | {:.2} |",
                        cost.requests,
                        cost.allocated.allocations as f64 / n as f64,
                        cost.allocated.reallocations as f64 / n as f64,
                        cost.allocated.bytes as f64 / n as f64,
                        cost.time.as_secs_f64() * 1e6 / n as f64,
                    );
                }
                Err(error) => {
                    failed = true;
                    println!("| {name} | {workload_name} | FAILED: {error} | | | | |");
                }
            }
        }
    }
    if failed {
        std::process::ExitCode::FAILURE
    } else {
        std::process::ExitCode::SUCCESS
    }
}
