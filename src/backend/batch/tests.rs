//! The batching rules, on a backend that records its calls and holds each until let go.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::json;
use time::Duration;
use tokio::sync::Semaphore;

use super::Batched;
use crate::backend::batching::{ApplyItem, BatchLimits, Batching};
use crate::backend::changes::Changes;
use crate::backend::error::BackendError;
use crate::backend::session_backend::{Record, Regenerated, SessionBackend};
use crate::id::SessionId;

/// Which call a backend received, with the ids it carried.
#[derive(Clone, Debug, PartialEq)]
enum Call {
    One(SessionId),
    Many(Vec<SessionId>),
}

/// Every call waits for a permit of `gate`; applies set each change's keys on a record per
/// id; `gone` ids have no record.
#[derive(Debug, Default)]
struct Recording {
    gate: Gate,
    calls: Mutex<Vec<Call>>,
    records: Mutex<std::collections::HashMap<SessionId, Record>>,
    gone: Mutex<HashSet<SessionId>>,
    fail_many: AtomicBool,
    panic_many: AtomicBool,
}

/// A semaphore with no permit to begin with.
#[derive(Debug)]
struct Gate(Semaphore);

impl Default for Gate {
    fn default() -> Self {
        Self(Semaphore::new(0))
    }
}

impl Gate {
    fn add_permits(&self, n: usize) {
        self.0.add_permits(n);
    }
}

impl Recording {
    async fn pass(&self, call: Call) {
        self.gate
            .0
            .acquire()
            .await
            .expect("the gate stays open")
            .forget();
        self.calls.lock().unwrap().push(call);
    }

    fn applied(&self, item: &ApplyItem) -> bool {
        if self.gone.lock().unwrap().contains(&item.id) {
            return false;
        }
        let mut records = self.records.lock().unwrap();
        item.changes
            .apply_to(records.entry(item.id.clone()).or_default());
        true
    }

    fn calls(&self) -> Vec<Call> {
        self.calls.lock().unwrap().clone()
    }
}

impl SessionBackend for Recording {
    async fn load(&self, id: &SessionId) -> Result<Option<Record>, BackendError> {
        self.pass(Call::One(id.clone())).await;
        Ok(self.records.lock().unwrap().get(id).cloned())
    }

    async fn create(&self, _: &SessionId, _: &Record, _: Duration) -> Result<bool, BackendError> {
        Ok(true)
    }

    async fn apply(
        &self,
        id: &SessionId,
        changes: &Changes,
        ttl: Duration,
    ) -> Result<bool, BackendError> {
        self.pass(Call::One(id.clone())).await;
        Ok(self.applied(&ApplyItem::new(id.clone(), changes.clone(), ttl)))
    }

    async fn regenerate(
        &self,
        _: &SessionId,
        _: &SessionId,
        _: &Changes,
        _: Duration,
    ) -> Result<Regenerated, BackendError> {
        Ok(Regenerated::Moved)
    }

    async fn delete(&self, _: &SessionId) -> Result<(), BackendError> {
        Ok(())
    }
}

impl Batching for Recording {
    async fn load_many(&self, ids: &[SessionId]) -> Vec<Result<Option<Record>, BackendError>> {
        self.pass(Call::Many(ids.to_vec())).await;
        let records = self.records.lock().unwrap();
        ids.iter().map(|id| Ok(records.get(id).cloned())).collect()
    }

    async fn apply_many(&self, items: &[ApplyItem]) -> Vec<Result<bool, BackendError>> {
        self.pass(Call::Many(
            items.iter().map(|item| item.id.clone()).collect(),
        ))
        .await;
        assert!(
            !self.panic_many.load(Ordering::SeqCst),
            "the backend panicked"
        );
        if self.fail_many.load(Ordering::SeqCst) {
            let error = BackendError::msg("the connection dropped");
            return items.iter().map(|_| Err(error.clone())).collect();
        }
        items.iter().map(|item| Ok(self.applied(item))).collect()
    }
}

fn ids(n: usize) -> Vec<SessionId> {
    (0..n).map(|_| SessionId::generate().unwrap()).collect()
}

fn set(key: &str) -> Changes {
    Changes::new().set(key, json!(true))
}

/// Lets the spawned tasks run until they wait (the runtime has one thread).
async fn settle() {
    for _ in 0..20 {
        tokio::task::yield_now().await;
    }
}

/// A batched `backend`, and one load held in flight (the first call takes the gate's only
/// permit only once the test adds one).
fn batched(backend: &Arc<Recording>) -> Arc<Batched<Arc<Recording>>> {
    with(backend, limits(1))
}

/// Batches of 4, `in_flight` calls at once, the default bounds.
fn limits(in_flight: usize) -> BatchLimits {
    BatchLimits::default().max_batch(4).max_in_flight(in_flight)
}

fn with(backend: &Arc<Recording>, limits: BatchLimits) -> Arc<Batched<Arc<Recording>>> {
    Arc::new(Batched::with_limits(backend.clone(), limits))
}

#[tokio::test(flavor = "current_thread")]
async fn an_operation_goes_out_at_once_when_nothing_is_in_flight() {
    let backend = Arc::new(Recording::default());
    let batched = batched(&backend);
    backend.gate.add_permits(1);
    let id = SessionId::generate().unwrap();
    assert_eq!(batched.load(&id).await.unwrap(), None);
    assert_eq!(backend.calls(), [Call::One(id)]);
}

/// With one operation a call there is nothing to batch: every load and save goes straight to
/// the backend, concurrent ones included, as if it were not wrapped.
#[tokio::test(flavor = "current_thread")]
async fn one_operation_a_call_goes_straight_through() {
    let backend = Arc::new(Recording::default());
    let batched = with(&backend, limits(1).max_batch(1));
    let ids = ids(3);
    let tasks: Vec<_> = ids
        .iter()
        .map(|id| {
            let (batched, id) = (batched.clone(), id.clone());
            tokio::spawn(async move { batched.apply(&id, &set("a"), Duration::HOUR).await })
        })
        .collect();
    settle().await;
    assert_eq!(batched.applies.waiting(), 0, "nothing queued");
    backend.gate.add_permits(3);
    for task in tasks {
        assert!(task.await.unwrap().unwrap());
    }
    let calls = backend.calls();
    assert_eq!(calls.len(), 3);
    assert!(
        calls.iter().all(|call| matches!(call, Call::One(_))),
        "{calls:?}"
    );
}

#[tokio::test(flavor = "current_thread")]
async fn loads_that_arrive_while_one_is_in_flight_go_out_together_up_to_the_maximum() {
    let backend = Arc::new(Recording::default());
    let batched = batched(&backend);
    let ids = ids(7);
    let tasks: Vec<_> = ids
        .iter()
        .map(|id| {
            let (batched, id) = (batched.clone(), id.clone());
            tokio::spawn(async move { batched.load(&id).await })
        })
        .collect();
    settle().await;
    assert_eq!(
        batched.loads.waiting(),
        6,
        "the first is in flight, the others wait"
    );
    backend.gate.add_permits(10);
    for task in tasks {
        assert_eq!(task.await.unwrap().unwrap(), None);
    }
    assert_eq!(
        backend.calls(),
        [
            Call::One(ids[0].clone()),
            Call::Many(ids[1..5].to_vec()),
            Call::Many(ids[5..7].to_vec()),
        ]
    );
}

#[tokio::test(flavor = "current_thread")]
async fn a_batch_holds_one_save_per_session_and_each_sessions_saves_keep_their_order() {
    let backend = Arc::new(Recording::default());
    let batched = batched(&backend);
    let [a, b] = [
        SessionId::generate().unwrap(),
        SessionId::generate().unwrap(),
    ];
    // a (in flight), then a, b, a, a: the batches are [b, a] (b was ready first: a's next
    // save became ready when its first was done), [a], [a].
    let order = [(&a, "1"), (&a, "2"), (&b, "3"), (&a, "4"), (&a, "5")];
    let mut tasks = Vec::new();
    for (id, key) in order {
        let (batched, id) = (batched.clone(), id.clone());
        tasks.push(tokio::spawn(async move {
            batched.apply(&id, &set(key), Duration::HOUR).await
        }));
        settle().await;
    }
    backend.gate.add_permits(10);
    for task in tasks {
        assert!(task.await.unwrap().unwrap());
    }
    assert_eq!(
        backend.calls(),
        [
            Call::One(a.clone()),
            Call::Many(vec![b.clone(), a.clone()]),
            Call::One(a.clone()),
            Call::One(a.clone()),
        ]
    );
    let records = backend.records.lock().unwrap();
    let keys: Vec<_> = records[&a].keys().cloned().collect();
    assert_eq!(keys, ["1", "2", "4", "5"], "every change to a was applied");
}

#[tokio::test(flavor = "current_thread")]
async fn a_record_gone_fails_only_its_own_save_and_a_failed_batch_fails_every_save_in_it() {
    let backend = Arc::new(Recording::default());
    let batched = batched(&backend);
    let ids = ids(4);
    backend.gone.lock().unwrap().insert(ids[2].clone());
    let apply_all = |ids: Vec<SessionId>| {
        ids.into_iter()
            .map(|id| {
                let batched = batched.clone();
                tokio::spawn(async move { batched.apply(&id, &set("k"), Duration::HOUR).await })
            })
            .collect::<Vec<_>>()
    };
    let tasks = apply_all(ids.clone());
    settle().await;
    // Exactly the two calls: one alone, one batch (no permit is left for the next round).
    backend.gate.add_permits(2);
    let mut results = Vec::new();
    for task in tasks {
        results.push(task.await.unwrap().unwrap());
    }
    assert_eq!(results, [true, true, false, true]);

    backend.fail_many.store(true, Ordering::SeqCst);
    let tasks = apply_all(ids.clone());
    settle().await;
    backend.gate.add_permits(10);
    let mut failed = 0;
    for (n, task) in tasks.into_iter().enumerate() {
        match task.await.unwrap() {
            Err(error) => {
                assert_eq!(error.to_string(), "the connection dropped");
                failed += 1;
            }
            Ok(applied) => assert_eq!(n, 0, "only the save that went alone succeeded: {applied}"),
        }
    }
    assert_eq!(failed, 3, "the batch of three failed as one");
}

#[tokio::test(flavor = "current_thread")]
async fn a_request_that_goes_away_while_in_flight_leaves_the_queue_moving() {
    let backend = Arc::new(Recording::default());
    let batched = batched(&backend);
    let ids = ids(3);
    let first = {
        let (batched, id) = (batched.clone(), ids[0].clone());
        tokio::spawn(async move { batched.load(&id).await })
    };
    settle().await;
    let rest: Vec<_> = ids[1..]
        .iter()
        .map(|id| {
            let (batched, id) = (batched.clone(), id.clone());
            tokio::spawn(async move { batched.load(&id).await })
        })
        .collect();
    settle().await;
    first.abort();
    settle().await;
    backend.gate.add_permits(10);
    for task in rest {
        assert_eq!(task.await.unwrap().unwrap(), None);
    }
    assert_eq!(backend.calls(), [Call::Many(ids[1..].to_vec())]);
}

#[tokio::test(flavor = "current_thread")]
async fn a_backend_that_panics_in_a_batch_fails_its_requests_and_the_next_ones_go_out() {
    let backend = Arc::new(Recording::default());
    let batched = batched(&backend);
    backend.panic_many.store(true, Ordering::SeqCst);
    let ids = ids(3);
    let tasks: Vec<_> = ids
        .iter()
        .map(|id| {
            let (batched, id) = (batched.clone(), id.clone());
            tokio::spawn(async move { batched.apply(&id, &set("k"), Duration::HOUR).await })
        })
        .collect();
    settle().await;
    backend.gate.add_permits(10);
    let results: Vec<_> = futures_results(tasks).await;
    assert!(results[0], "the first went alone");
    assert!(
        !results[1] && !results[2],
        "the panicked batch's requests failed: {results:?}"
    );

    backend.panic_many.store(false, Ordering::SeqCst);
    backend.gate.add_permits(1);
    assert!(batched
        .apply(&ids[0], &set("again"), Duration::HOUR)
        .await
        .unwrap());
}

/// Whether each task's save succeeded.
async fn futures_results(
    tasks: Vec<tokio::task::JoinHandle<Result<bool, BackendError>>>,
) -> Vec<bool> {
    let mut results = Vec::new();
    for task in tasks {
        results.push(matches!(task.await, Ok(Ok(true))));
    }
    results
}

#[tokio::test(flavor = "current_thread")]
async fn with_two_calls_allowed_a_second_goes_at_once_but_never_a_second_save_of_one_session() {
    let backend = Arc::new(Recording::default());
    let batched = with(&backend, limits(2));
    let ids = ids(3);
    let loads: Vec<_> = ids
        .iter()
        .map(|id| {
            let (batched, id) = (batched.clone(), id.clone());
            tokio::spawn(async move { batched.load(&id).await })
        })
        .collect();
    settle().await;
    assert_eq!(
        batched.loads.waiting(),
        1,
        "two loads are in flight, the third waits"
    );
    let saves: Vec<_> = ["1", "2"]
        .into_iter()
        .map(|key| {
            let (batched, id) = (batched.clone(), ids[0].clone());
            tokio::spawn(async move { batched.apply(&id, &set(key), Duration::HOUR).await })
        })
        .collect();
    settle().await;
    assert_eq!(
        batched.applies.waiting(),
        1,
        "the second save of the session waits for the first"
    );
    backend.gate.add_permits(10);
    for load in loads {
        assert_eq!(load.await.unwrap().unwrap(), None);
    }
    for save in saves {
        assert!(save.await.unwrap().unwrap());
    }
    let records = backend.records.lock().unwrap();
    let keys: Vec<_> = records[&ids[0]].keys().cloned().collect();
    assert_eq!(keys, ["1", "2"]);
}

#[tokio::test(flavor = "current_thread")]
async fn beyond_its_bounds_a_save_fails_at_once_saying_which_bound_to_raise() {
    let backend = Arc::new(Recording::default());
    let batched = with(&backend, limits(1).max_queue(3).max_queue_per_session(2));
    let [a, b, c] = [(); 3].map(|()| SessionId::generate().unwrap());
    let save = |id: &SessionId, key: &'static str| {
        let (batched, id) = (batched.clone(), id.clone());
        tokio::spawn(async move { batched.apply(&id, &set(key), Duration::HOUR).await })
    };
    // a's first save in flight, two more of a wait: a third of a is one too many.
    let mut tasks = vec![save(&a, "1")];
    settle().await;
    tasks.extend([save(&a, "2"), save(&a, "3")]);
    settle().await;
    assert_eq!(batched.applies.waiting(), 2);
    let full = batched.apply(&a, &set("4"), Duration::HOUR).await;
    let error = full.expect_err("a's queue is full").to_string();
    assert!(
        error.contains("full for this session") && error.contains(".max_queue_per_session(n)"),
        "{error}"
    );
    // b's save makes three waiting in all: c's finds the queue full.
    tasks.push(save(&b, "5"));
    settle().await;
    let error = batched
        .apply(&c, &set("6"), Duration::HOUR)
        .await
        .expect_err("the queue is full")
        .to_string();
    assert!(
        error.contains("saves waiting for this backend is full") && error.contains(".max_queue(n)"),
        "{error}"
    );
    assert_eq!(
        batched.applies.waiting(),
        3,
        "the refused saves did not wait"
    );

    backend.gate.add_permits(10);
    for task in tasks {
        assert!(task.await.unwrap().unwrap());
    }
    let keys: Vec<_> = backend.records.lock().unwrap()[&a]
        .keys()
        .cloned()
        .collect();
    assert_eq!(keys, ["1", "2", "3"]);
    assert!(
        batched.apply(&c, &set("6"), Duration::HOUR).await.unwrap(),
        "with the queue drained, a save goes again"
    );
}

#[tokio::test(flavor = "current_thread")]
async fn loads_have_their_own_bound() {
    let backend = Arc::new(Recording::default());
    let batched = with(&backend, limits(1).max_queue(1));
    let ids = ids(3);
    let tasks: Vec<_> = ids[..2]
        .iter()
        .map(|id| {
            let (batched, id) = (batched.clone(), id.clone());
            tokio::spawn(async move { batched.load(&id).await })
        })
        .collect();
    settle().await;
    let error = batched.load(&ids[2]).await.expect_err("the queue is full");
    assert!(error.to_string().contains("the queue of loads"), "{error}");
    backend.gate.add_permits(10);
    for task in tasks {
        assert_eq!(task.await.unwrap().unwrap(), None);
    }
}

#[tokio::test(flavor = "current_thread")]
async fn a_burst_of_saves_of_one_session_goes_out_one_per_call_the_last_one_last() {
    const SAVES: usize = 1_000;
    let backend = Arc::new(Recording::default());
    let batched = with(&backend, limits(1).max_queue_per_session(SAVES));
    let [a, b] = [(); 2].map(|()| SessionId::generate().unwrap());
    let tasks: Vec<_> = (0..SAVES)
        .map(|n| {
            let (batched, id) = (batched.clone(), if n % 2 == 0 { &a } else { &b }.clone());
            let changes = Changes {
                set: vec![("last".to_owned(), json!(n))],
                ..Changes::default()
            };
            tokio::spawn(async move { batched.apply(&id, &changes, Duration::HOUR).await })
        })
        .collect();
    for _ in 0..SAVES {
        if batched.applies.waiting() == SAVES - 1 {
            break;
        }
        tokio::task::yield_now().await;
    }
    assert_eq!(
        batched.applies.waiting(),
        SAVES - 1,
        "all but the first wait"
    );
    backend.gate.add_permits(SAVES);
    for task in tasks {
        assert!(task.await.unwrap().unwrap());
    }
    let calls = backend.calls();
    // a's first alone, then one save of b and one of a per call, then b's last alone.
    assert_eq!(calls.len(), SAVES / 2 + 1);
    assert!(calls[1..SAVES / 2]
        .iter()
        .all(|call| *call == Call::Many(vec![b.clone(), a.clone()])));
    let records = backend.records.lock().unwrap();
    assert_eq!(records[&a]["last"], json!(SAVES - 2));
    assert_eq!(records[&b]["last"], json!(SAVES - 1));
}
