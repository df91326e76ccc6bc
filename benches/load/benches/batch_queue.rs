//! The batching queue under a burst: N saves that all arrive while one is in flight, either of
//! N distinct sessions or all of one session (one cookie, many concurrent requests).
//!
//! `cargo bench -p axum-session-store-load --bench batch_queue`. The saves go through the
//! batching the config wraps around a backend that batches (`max_batch_size` 64, as the built-in
//! ones), reached with `SessionConfig::server_backend`; the backend itself does no work (each
//! call yields once, so the burst queues behind the first save). Saves of one session go out
//! one per batch, so `one-session/N` makes N calls where `distinct/N` makes N/64: what it costs
//! beyond that is the queue's own. Criterion prints the throughput in saves per second. (The
//! backend lets the whole burst of one session wait: by default 256 may.)

use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum_session_store::{
    ApplyItem, BackendError, BoxFuture, Changes, Record, Regenerated, SessionBackend,
    SessionConfig, SessionId,
};
use criterion::{BenchmarkId, Criterion, Throughput};

const BURSTS: [usize; 3] = [2_000, 4_000, 8_000];

/// A backend that stores nothing: each call yields once (so that, on a one-thread runtime, the
/// whole burst queues while the first save is in flight) and succeeds.
#[derive(Debug, Default)]
struct Yielding {
    saves: AtomicU64,
}

impl Yielding {
    async fn applied(&self, n: usize) -> Vec<Result<bool, BackendError>> {
        tokio::task::yield_now().await;
        self.saves.fetch_add(n as u64, Relaxed);
        vec![Ok(true); n]
    }
}

impl SessionBackend for Yielding {
    fn load<'a>(&'a self, _: &'a SessionId) -> BoxFuture<'a, Result<Option<Record>, BackendError>> {
        Box::pin(async { Ok(None) })
    }

    fn create<'a>(
        &'a self,
        _: &'a SessionId,
        _: &'a Record,
        _: time::Duration,
    ) -> BoxFuture<'a, Result<bool, BackendError>> {
        Box::pin(async { Ok(true) })
    }

    fn apply<'a>(
        &'a self,
        _: &'a SessionId,
        _: &'a Changes,
        _: time::Duration,
    ) -> BoxFuture<'a, Result<bool, BackendError>> {
        Box::pin(async move { self.applied(1).await.remove(0) })
    }

    fn regenerate<'a>(
        &'a self,
        _: &'a SessionId,
        _: &'a SessionId,
        _: &'a Changes,
        _: time::Duration,
    ) -> BoxFuture<'a, Result<Regenerated, BackendError>> {
        Box::pin(async { Ok(Regenerated::Moved) })
    }

    fn delete<'a>(&'a self, _: &'a SessionId) -> BoxFuture<'a, Result<(), BackendError>> {
        Box::pin(async { Ok(()) })
    }

    fn delete_expired(&self) -> BoxFuture<'_, Result<u64, BackendError>> {
        Box::pin(async { Ok(0) })
    }

    fn max_batch_size(&self) -> usize {
        64
    }

    /// The whole burst may wait, even of one session (256 by default).
    fn max_queue_len_per_session(&self) -> usize {
        BURSTS[BURSTS.len() - 1]
    }

    fn apply_many<'a>(
        &'a self,
        items: &'a [ApplyItem],
    ) -> BoxFuture<'a, Vec<Result<bool, BackendError>>> {
        Box::pin(self.applied(items.len()))
    }
}

/// `burst` saves started at once, of the sessions `ids` in turn, until all are answered.
async fn burst(backend: &Arc<dyn SessionBackend>, ids: &[SessionId], burst: usize) {
    let changes = Changes {
        set: vec![("n".to_owned(), 1.into())],
        ..Changes::default()
    };
    let tasks: Vec<_> = (0..burst)
        .map(|n| {
            let (backend, id, changes) =
                (backend.clone(), ids[n % ids.len()].clone(), changes.clone());
            tokio::spawn(async move { backend.apply(&id, &changes, time::Duration::HOUR).await })
        })
        .collect();
    for task in tasks {
        let saved = task.await.expect("the save task ends");
        assert!(matches!(saved, Ok(true)), "{saved:?}");
    }
}

fn batch_queue(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a runtime");
    let config = SessionConfig::builder()
        .secret_key("benchmark secret of at least thirty-two bytes")
        .backend("yielding", Yielding::default())
        .build()
        .expect("valid config");
    let backend = config.server_backend("yielding").expect("a server backend");
    for (label, sessions) in [("distinct", None), ("one-session", Some(1))] {
        let mut group = c.benchmark_group(format!("batch-queue/{label}"));
        for saves in BURSTS {
            let ids: Vec<SessionId> = (0..sessions.unwrap_or(saves))
                .map(|_| SessionId::generate().expect("an id"))
                .collect();
            group.throughput(Throughput::Elements(saves as u64));
            group.bench_with_input(BenchmarkId::from_parameter(saves), &ids, |b, ids| {
                b.iter_custom(|iterations| {
                    let start = Instant::now();
                    for _ in 0..iterations {
                        runtime.block_on(burst(&backend, black_box(ids), saves));
                    }
                    start.elapsed()
                })
            });
        }
        group.finish();
    }
}

// `criterion_group!` would make a `pub fn`, which the crate's `missing_docs` lint flags.
fn main() {
    let mut criterion = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3))
        .sample_size(10)
        .configure_from_args();
    batch_queue(&mut criterion);
    criterion.final_summary();
}
