//! [`Batcher`]: the group-commit queue of one kind of operation on one backend.

use std::collections::{HashSet, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokio::sync::oneshot;

use crate::backend::error::BackendError;
use crate::backend::session_backend::{BoxFuture, SessionBackend};
use crate::id::SessionId;

/// One kind of operation that can go out in batches: how to send one, how to send many.
pub(super) trait Operation: Send + Sync + 'static {
    /// What a request asks for.
    type Item: Send + 'static;
    /// What it gets back.
    type Output: Send + 'static;
    /// Whether one batch may carry only one item per session id (saves: two changes to one
    /// record in one statement would keep only one of them). Items held back go in the next
    /// batch, so each id's items go out in the order they came.
    const ONE_PER_ID: bool;

    /// The session an item concerns.
    fn id(item: &Self::Item) -> &SessionId;

    /// Sends one item on its own.
    fn one<'a>(
        backend: &'a dyn SessionBackend,
        item: &'a Self::Item,
    ) -> BoxFuture<'a, Self::Output>;

    /// Sends `items` as one batch: one output per item, in order.
    fn many<'a>(
        backend: &'a dyn SessionBackend,
        items: &'a [Self::Item],
    ) -> BoxFuture<'a, Vec<Self::Output>>;

    /// The output of an item whose batch gave no answer for it.
    fn failed(error: BackendError) -> Self::Output;
}

/// The queue of one operation on one backend: at most one call of it is in flight, and the
/// items that arrive meanwhile go out as the next call, up to `max_batch` at a time.
pub(super) struct Batcher<O: Operation> {
    backend: Arc<dyn SessionBackend>,
    max_batch: usize,
    queue: Mutex<Queue<O>>,
}

struct Queue<O: Operation> {
    /// An operation is in flight: new items wait.
    busy: bool,
    waiting: VecDeque<Waiting<O>>,
}

struct Waiting<O: Operation> {
    item: O::Item,
    reply: oneshot::Sender<O::Output>,
}

impl<O: Operation> Batcher<O> {
    pub(super) fn new(backend: Arc<dyn SessionBackend>, max_batch: usize) -> Self {
        Self {
            backend,
            max_batch: max_batch.max(1),
            queue: Mutex::new(Queue {
                busy: false,
                waiting: VecDeque::new(),
            }),
        }
    }

    /// Sends `item`: at once when nothing is in flight, else with the next batch.
    pub(super) async fn run(self: &Arc<Self>, item: O::Item) -> O::Output {
        let waiting = {
            let mut queue = self.lock();
            if queue.busy {
                let (reply, answer) = oneshot::channel();
                queue.waiting.push_back(Waiting { item, reply });
                Err(answer)
            } else {
                queue.busy = true;
                Ok(item)
            }
        };
        match waiting {
            Ok(item) => {
                // Whatever becomes of this request, the queue moves on when the call ends.
                let _in_flight = InFlight(self);
                O::one(&*self.backend, &item).await
            }
            Err(answer) => answer.await.unwrap_or_else(|_| {
                O::failed(BackendError::msg(
                    "the batch this operation waited for was dropped (the runtime is shutting down)",
                ))
            }),
        }
    }

    /// The call in flight ended: the next batch goes out, on a task of its own so that no
    /// request waits for other requests' batches, or the queue is idle again.
    fn next(self: &Arc<Self>) {
        let mut queue = self.lock();
        if queue.waiting.is_empty() {
            queue.busy = false;
            return;
        }
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                drop(queue);
                runtime.spawn(Arc::clone(self).drain());
            }
            // No runtime to send them from: the waiting requests fail (their answers drop).
            Err(_) => {
                queue.waiting.clear();
                queue.busy = false;
            }
        }
    }

    /// Sends batches until none is waiting.
    async fn drain(self: Arc<Self>) {
        let mut drained = Drained {
            batcher: &self,
            done: false,
        };
        loop {
            let batch = self.lock().take(self.max_batch);
            if batch.is_empty() {
                // `take` left the queue idle.
                drained.done = true;
                break;
            }
            let (items, replies): (Vec<_>, Vec<_>) = batch
                .into_iter()
                .map(|waiting| (waiting.item, waiting.reply))
                .unzip();
            let outputs = match items.as_slice() {
                [item] => vec![O::one(&*self.backend, item).await],
                items => O::many(&*self.backend, items).await,
            };
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

impl<O: Operation> Queue<O> {
    /// The next batch: up to `max` waiting items, oldest first, and at most one per id when
    /// the operation asks for it; the rest keep their order. Items whose request has gone are
    /// dropped.
    fn take(&mut self, max: usize) -> Vec<Waiting<O>> {
        let mut batch = Vec::with_capacity(max.min(self.waiting.len()));
        let mut ids = HashSet::new();
        let mut held = VecDeque::new();
        while let Some(waiting) = self.waiting.pop_front() {
            if batch.len() == max {
                held.push_back(waiting);
                held.append(&mut self.waiting);
                break;
            }
            if waiting.reply.is_closed() {
                continue;
            }
            if O::ONE_PER_ID && !ids.insert(O::id(&waiting.item).clone()) {
                held.push_back(waiting);
                continue;
            }
            batch.push(waiting);
        }
        self.waiting = held;
        if batch.is_empty() {
            // Nothing goes out: the queue is idle again (under the same lock, so an item that
            // arrives now leads a call of its own).
            self.busy = false;
        }
        batch
    }
}

/// Ends the call in flight when dropped: after its answer, or when the request is dropped
/// (or panics) while waiting for it.
struct InFlight<'a, O: Operation>(&'a Arc<Batcher<O>>);

impl<O: Operation> Drop for InFlight<'_, O> {
    fn drop(&mut self) {
        self.0.next();
    }
}

/// Leaves the queue idle when a draining task stops before the queue is empty (a backend
/// that panics, a runtime shutting down): the waiting requests then fail instead of waiting
/// forever.
struct Drained<'a, O: Operation> {
    batcher: &'a Arc<Batcher<O>>,
    /// The queue emptied and is idle already (maybe busy again with a new call by now).
    done: bool,
}

impl<O: Operation> Drop for Drained<'_, O> {
    fn drop(&mut self) {
        if !self.done {
            let mut queue = self.batcher.lock();
            queue.waiting.clear();
            queue.busy = false;
        }
    }
}

#[cfg(test)]
impl<O: Operation> Batcher<O> {
    /// How many items wait for the next batch.
    pub(super) fn waiting(&self) -> usize {
        self.lock().waiting.len()
    }
}
