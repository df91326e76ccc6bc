//! Cookie header parsing: headers of 10, 1,000, 10,000 and 40,000 distinct empty cookies, read
//! the way every request reads them (the store's extractor parses the header, then a lookup
//! scans the pairs for a session's cookie).
//!
//! `cargo bench --manifest-path benches/load/Cargo.toml --bench cookie_header` (benches/load is
//! a workspace of its own). Criterion prints the throughput in pairs per second:
//! with the cap raised above the largest header (`uncapped`), the time per pair stays flat,
//! so parsing is linear in the header's size; with the default cap of 512 pairs (`default-cap`)
//! a header costs at most what 512 pairs cost, however long it is.

use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use axum::extract::FromRequestParts;
use axum::http::header::COOKIE;
use axum::http::{HeaderValue, Request};
use axum_session_store::{SessionConfig, SessionStore};
use criterion::{BatchSize, BenchmarkId, Criterion, Throughput};

const PAIRS: [usize; 4] = [10, 1_000, 10_000, 40_000];

/// A header of `pairs` distinct empty cookies, as in a cookie-bomb request.
fn header(pairs: usize) -> HeaderValue {
    let text: Vec<String> = (0..pairs).map(|i| format!("c{i:x}=")).collect();
    HeaderValue::from_str(&text.join("; ")).expect("a valid header value")
}

/// Runs a future that never waits (the store's extractor does no I/O) to completion.
fn ready<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("the store's extractor never waits"),
    }
}

/// Parses `header` as a request's `Cookie` and looks up a cookie it does not hold (a lookup that
/// scans every pair read).
fn parse_and_look_up(config: &SessionConfig, header: &HeaderValue) -> bool {
    let (mut parts, ()) = Request::get("/")
        .header(COOKIE, header.clone())
        .body(())
        .expect("a valid request")
        .into_parts();
    let Ok(store) = ready(SessionStore::from_request_parts(&mut parts, config));
    store.get_secure_cookie("session").is_some()
}

fn cookie_header(c: &mut Criterion) {
    let secret = "benchmark secret of at least thirty-two bytes";
    let uncapped = SessionConfig::builder()
        .secret_key(secret)
        .max_cookie_pairs(*PAIRS.iter().max().expect("sizes"))
        .build()
        .expect("valid config");
    let default_cap = SessionConfig::builder()
        .secret_key(secret)
        .build()
        .expect("valid config");
    for (label, config) in [("uncapped", &uncapped), ("default-cap", &default_cap)] {
        let mut group = c.benchmark_group(format!("cookie-header/{label}"));
        for pairs in PAIRS {
            let header = header(pairs);
            group.throughput(Throughput::Elements(pairs as u64));
            group.bench_with_input(BenchmarkId::from_parameter(pairs), &header, |b, header| {
                b.iter_batched_ref(
                    || header.clone(),
                    |header| parse_and_look_up(config, black_box(header)),
                    BatchSize::SmallInput,
                )
            });
        }
        group.finish();
    }
}

// `criterion_group!` would make a `pub fn`, which the crate's `missing_docs` lint flags.
fn main() {
    let mut criterion = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(30)
        .configure_from_args();
    cookie_header(&mut criterion);
    criterion.final_summary();
}
