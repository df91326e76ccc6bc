//! [`Batcher`]: the group-commit queue of one kind of operation on one backend.
//!
//! Waiting items are kept in one FIFO line per session, plus a queue of the sessions whose
//! next item may go now, so taking a batch costs O(batch) however many items wait (a burst of
//! saves of one session used to be walked in full for each batch: O(K²) for K saves).

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokio::sync::oneshot;

use crate::backend::batching::BatchLimits;
use crate::backend::erased::{BoxFuture, DynBatching};
use crate::backend::error::BackendError;
use crate::id::SessionId;
use crate::telemetry;

/// One kind of operation that can go out in batches: how to send one, how to send many.
pub(super) trait Operation: Send + Sync + 'static {
    /// What a request asks for.
    type Item: Send + Sync + 'static;
    /// What it gets back.
    type Output: Send + 'static;
    /// Whether a session may have only one item in flight, and so one per batch (saves: two
    /// changes to one record in one statement would keep only one of them). Items held back
    /// go in a later batch, so each id's items go out in the order they came.
    const ONE_PER_ID: bool;
    /// What the items are, in a sentence: "loads", "saves".
    const NAME: &'static str;

    /// The session an item concerns.
    fn id(item: &Self::Item) -> &SessionId;

    /// Sends one item on its own.
    fn one<'a>(backend: &'a dyn DynBatching, item: &'a Self::Item) -> BoxFuture<'a, Self::Output>;

    /// Sends `items` as one batch: one output per item, in order.
    fn many<'a>(
        backend: &'a dyn DynBatching,
        items: &'a [Self::Item],
    ) -> BoxFuture<'a, Vec<Self::Output>>;

    /// The output of an item whose batch gave no answer for it.
    fn failed(error: BackendError) -> Self::Output;
}

/// The queue of one operation on one backend: at most `max_in_flight` calls of it are in
/// flight; an item that arrives when all are busy waits, and goes out with the next call, up
/// to `max_batch` items at a time; an item that would make more wait than `max_queue_len` (or,
/// of its session, `max_queue_len_per_session`) fails at once.
pub(super) struct Batcher<O: Operation> {
    backend: Arc<dyn DynBatching>,
    limits: BatchLimits,
    queue: Mutex<Queue<O>>,
}

/// What waits, and what is in flight. Every session in `ready` is in `lines`, not busy, with
/// an item waiting, and is in `ready` once; every session in `lines` is busy or has an item
/// waiting.
struct Queue<O: Operation> {
    /// Calls in flight (a request's own, or a draining task's).
    in_flight: usize,
    /// Items waiting, over every line.
    waiting: usize,
    /// The sessions that have items waiting or (with [`Operation::ONE_PER_ID`]) one in flight.
    lines: HashMap<SessionId, Line<O>>,
    /// The sessions whose next item may go in the next batch, in the order they became so.
    ready: VecDeque<SessionId>,
}

/// One session's waiting items, oldest first.
struct Line<O: Operation> {
    waiting: VecDeque<Waiting<O>>,
    /// With [`Operation::ONE_PER_ID`]: an item of the session is in flight; the next waits.
    busy: bool,
}

struct Waiting<O: Operation> {
    item: O::Item,
    reply: oneshot::Sender<O::Output>,
}

impl<O: Operation> Batcher<O> {
    pub(super) fn new(backend: Arc<dyn DynBatching>, limits: BatchLimits) -> Self {
        Self {
            backend,
            limits,
            queue: Mutex::new(Queue {
                in_flight: 0,
                waiting: 0,
                lines: HashMap::new(),
                ready: VecDeque::new(),
            }),
        }
    }

    /// Sends an operation on `id`: at once, as `alone()` (the single call, on the request's
    /// own data: nothing is copied), when a call is free; else `item()`, an owned copy, with
    /// the next batch, or fails at once when the queue is full.
    pub(super) async fn run<F>(
        self: &Arc<Self>,
        id: &SessionId,
        item: impl FnOnce() -> O::Item,
        alone: impl FnOnce() -> F,
    ) -> O::Output
    where
        F: Future<Output = O::Output>,
    {
        let answer = {
            let mut queue = self.lock();
            // An item of an id that has one in flight or waiting waits too, behind it.
            let free = queue.in_flight < self.limits.in_flight()
                && !(O::ONE_PER_ID && queue.lines.contains_key(id));
            if free {
                queue.in_flight += 1;
                if O::ONE_PER_ID {
                    queue.lines.insert(id.clone(), Line::busy());
                }
                None
            } else if let Err(error) = self.check_room(&queue, id) {
                return O::failed(error);
            } else {
                let (reply, answer) = oneshot::channel();
                queue.push(
                    id,
                    Waiting {
                        item: item(),
                        reply,
                    },
                );
                self.drain_waiting(&mut queue);
                Some(answer)
            }
        };
        match answer {
            None => {
                telemetry::batch(O::NAME, 1);
                // Whatever becomes of this request, the queue moves on when the call ends.
                let _in_flight = InFlight {
                    batcher: self,
                    id: O::ONE_PER_ID.then(|| id.clone()),
                };
                alone().await
            }
            Some(answer) => answer.await.unwrap_or_else(|_| {
                O::failed(BackendError::msg(
                    "the batch this operation waited for was dropped (the runtime is shutting \
                     down, or the backend panicked)",
                ))
            }),
        }
    }

    /// Whether one more item of `id` may wait: an error that says which bound it would pass,
    /// and how to raise it, when not.
    fn check_room(&self, queue: &Queue<O>, id: &SessionId) -> Result<(), BackendError> {
        let (max_queue_len, max_queue_len_per_session) =
            (self.limits.queue(), self.limits.queue_per_session());
        let name = O::NAME;
        if queue.waiting >= max_queue_len {
            return Err(BackendError::msg(format!(
                "the queue of {name} waiting for this backend is full ({max_queue_len} wait, the \
                 most its BatchLimits allow): the backend is not keeping up; add capacity, or \
                 raise the bound with the backend's `.max_queue(n)` (a backend of your own: \
                 `BatchLimits::max_queue` in `Batching::batch_limits`)"
            )));
        }
        let of_session = queue.lines.get(id).map_or(0, |line| line.waiting.len());
        if of_session >= max_queue_len_per_session {
            return Err(BackendError::msg(format!(
                "the queue of {name} waiting for this backend is full for this session \
                 ({max_queue_len_per_session} of its {name} wait, the most its BatchLimits \
                 allow): one client sends many concurrent requests with one session; raise the \
                 bound with the backend's `.max_queue_per_session(n)` (a backend of your own: \
                 `BatchLimits::max_queue_per_session`)"
            )));
        }
        Ok(())
    }

    /// A call ended, with these ids in it: they are free again, and a call is free for the
    /// waiting items.
    fn ended<'a>(self: &Arc<Self>, ids: impl IntoIterator<Item = &'a SessionId>) {
        let mut queue = self.lock();
        queue.in_flight -= 1;
        for id in ids {
            queue.release(id);
        }
        self.drain_waiting(&mut queue);
    }

    /// Starts a draining task when items may go and a call is free: on a task of its own, so
    /// that no request waits for other requests' batches.
    fn drain_waiting(self: &Arc<Self>, queue: &mut Queue<O>) {
        if queue.ready.is_empty() || queue.in_flight >= self.limits.in_flight() {
            return;
        }
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                queue.in_flight += 1;
                runtime.spawn(Arc::clone(self).drain());
            }
            // No runtime to send them from: the waiting requests fail (their answers drop).
            Err(_) => queue.drop_waiting(),
        }
    }

    /// Sends batches until none can go.
    async fn drain(self: Arc<Self>) {
        loop {
            let batch = {
                let mut queue = self.lock();
                let batch = queue.take(self.limits.batch());
                if batch.is_empty() {
                    queue.in_flight -= 1;
                    return;
                }
                // More wait than this batch holds: another call may take them meanwhile.
                self.drain_waiting(&mut queue);
                batch
            };
            telemetry::batch(O::NAME, batch.len());
            let (items, replies): (Vec<_>, Vec<_>) = batch
                .into_iter()
                .map(|waiting| (waiting.item, waiting.reply))
                .unzip();
            let outputs = {
                // Frees the ids, and the call, if the backend panics or the task is dropped.
                let mut in_flight = InBatch {
                    batcher: &self,
                    items: &items,
                    done: false,
                };
                let outputs = match items.as_slice() {
                    [item] => vec![O::one(&*self.backend, item).await],
                    items => O::many(&*self.backend, items).await,
                };
                in_flight.done = true;
                outputs
            };
            if O::ONE_PER_ID {
                let mut queue = self.lock();
                for item in &items {
                    queue.release(O::id(item));
                }
            }
            let mut outputs = outputs.into_iter();
            for reply in replies {
                let output = outputs.next().unwrap_or_else(|| {
                    O::failed(BackendError::msg(
                        "the backend's batch call gave fewer results than it was given items; \
                         the item is not known to be saved",
                    ))
                });
                // The request may have gone (the client left): nothing waits for its answer.
                let _ = reply.send(output);
            }
        }
    }

    fn lock(&self) -> MutexGuard<'_, Queue<O>> {
        // Held only to move items in and out of the queue: nothing is left half-done.
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl<O: Operation> Line<O> {
    fn busy() -> Self {
        Self {
            waiting: VecDeque::new(),
            busy: true,
        }
    }
}

impl<O: Operation> Queue<O> {
    /// Puts `waiting` at the end of its session's line; the session is ready when that is
    /// its only item and none of it is in flight.
    fn push(&mut self, id: &SessionId, waiting: Waiting<O>) {
        let line = self.lines.entry(id.clone()).or_insert_with(|| Line {
            waiting: VecDeque::new(),
            busy: false,
        });
        line.waiting.push_back(waiting);
        self.waiting += 1;
        if !line.busy && line.waiting.len() == 1 {
            self.ready.push_back(id.clone());
        }
    }

    /// The item of `id` in flight is done: its next item may go.
    fn release(&mut self, id: &SessionId) {
        let Some(line) = self.lines.get_mut(id) else {
            return;
        };
        line.busy = false;
        if line.waiting.is_empty() {
            self.lines.remove(id);
        } else {
            self.ready.push_back(id.clone());
        }
    }

    /// The next batch: up to `max` items, the next of each ready session in turn; with
    /// [`Operation::ONE_PER_ID`], at most one per id, whose session is busy until
    /// [`release`](Self::release)d. Items whose request has gone are dropped. Costs O(items
    /// taken or dropped).
    fn take(&mut self, max: usize) -> Vec<Waiting<O>> {
        let mut batch = Vec::with_capacity(max.min(self.waiting));
        while batch.len() < max {
            let Some(id) = self.ready.pop_front() else {
                break;
            };
            let Some(line) = self.lines.get_mut(&id) else {
                continue;
            };
            while let Some(waiting) = line.waiting.pop_front() {
                self.waiting -= 1;
                if !waiting.reply.is_closed() {
                    batch.push(waiting);
                    line.busy = O::ONE_PER_ID;
                    break;
                }
            }
            match (line.busy, line.waiting.is_empty()) {
                (true, _) => {}
                (false, true) => {
                    self.lines.remove(&id);
                }
                // Loads: the session's next load may go in this batch too, after the others'.
                (false, false) => self.ready.push_back(id),
            }
        }
        batch
    }

    /// Fails every waiting item (their answers drop); items in flight stay.
    fn drop_waiting(&mut self) {
        self.lines.retain(|_, line| {
            line.waiting.clear();
            line.busy
        });
        self.ready.clear();
        self.waiting = 0;
    }
}

/// Ends a request's own call when dropped: after its answer, or when the request is dropped
/// (or panics) while waiting for it.
struct InFlight<'a, O: Operation> {
    batcher: &'a Arc<Batcher<O>>,
    id: Option<SessionId>,
}

impl<O: Operation> Drop for InFlight<'_, O> {
    fn drop(&mut self) {
        self.batcher.ended(self.id.as_ref());
    }
}

/// Ends a draining task's call when the backend panics in it or the task is dropped: its ids
/// and the call are free again, and the waiting items go on (the batch's requests fail, their
/// answers dropped).
struct InBatch<'a, O: Operation> {
    batcher: &'a Arc<Batcher<O>>,
    items: &'a [O::Item],
    done: bool,
}

impl<O: Operation> Drop for InBatch<'_, O> {
    fn drop(&mut self) {
        if !self.done {
            let ids = self.items.iter().filter(|_| O::ONE_PER_ID).map(O::id);
            self.batcher.ended(ids);
        }
    }
}

#[cfg(test)]
impl<O: Operation> Batcher<O> {
    /// How many items wait for the next batch.
    pub(super) fn waiting(&self) -> usize {
        self.lock().waiting
    }
}
