//! The batching queue under a burst: N saves that all arrive while one is in flight, either of
//! N distinct sessions or all of one session (one cookie, many concurrent requests).
//!
//! `cargo bench --manifest-path benches/load/Cargo.toml --bench batch_queue` (benches/load is a
//! workspace of its own). The saves go through [`Batched`], the batching the built-in backends
//! are registered with (64 to a call), around a backend that does no work (each call yields
//! once, so the burst queues behind the first save). Saves of one session go out
//! one per batch, so `one-session/N` makes N calls where `distinct/N` makes N/64: what it costs
//! beyond that is the queue's own. Criterion prints the throughput in saves per second. (The
//! backend lets the whole burst of one session wait: by default 256 may.)

use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum_session_store::backend::{
    ApplyItem, BatchLimits, Batched, Batching, Changes, Record, Regenerated,
};
use axum_session_store::{BackendError, SessionBackend, SessionId};
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
    async fn load(&self, _: &SessionId) -> Result<Option<Record>, BackendError> {
        Ok(None)
    }

    async fn create(
        &self,
        _: &SessionId,
        _: &Record,
        _: time::Duration,
    ) -> Result<bool, BackendError> {
        Ok(true)
    }

    async fn apply(
        &self,
        _: &SessionId,
        _: &Changes,
        _: time::Duration,
    ) -> Result<bool, BackendError> {
        self.applied(1).await.remove(0)
    }

    async fn regenerate(
        &self,
        _: &SessionId,
        _: &SessionId,
        _: &Changes,
        _: time::Duration,
    ) -> Result<Regenerated, BackendError> {
        Ok(Regenerated::Moved)
    }

    async fn delete(&self, _: &SessionId) -> Result<(), BackendError> {
        Ok(())
    }
}

impl Batching for Yielding {
    async fn load_many(&self, ids: &[SessionId]) -> Vec<Result<Option<Record>, BackendError>> {
        vec![Ok(None); ids.len()]
    }

    async fn apply_many(&self, items: &[ApplyItem]) -> Vec<Result<bool, BackendError>> {
        self.applied(items.len()).await
    }

    /// The whole burst may wait, even of one session (256 by default).
    fn batch_limits(&self) -> BatchLimits {
        BatchLimits::default().max_queue_per_session(BURSTS[BURSTS.len() - 1])
    }
}

/// `burst` saves started at once, of the sessions `ids` in turn, until all are answered.
async fn burst(backend: &Arc<Batched<Yielding>>, ids: &[SessionId], burst: usize) {
    let changes = Changes::new().set("n", 1);
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
    let backend = Arc::new(Batched::new(Yielding::default()));
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
