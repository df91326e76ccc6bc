//! [`Batcher`]: the group-commit queue of one kind of operation on one backend.

use std::collections::{HashSet, VecDeque};
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokio::sync::oneshot;

use crate::backend::error::BackendError;
use crate::backend::session_backend::{BoxFuture, SessionBackend};
use crate::id::SessionId;

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

/// The queue of one operation on one backend: at most `max_in_flight` calls of it are in
/// flight; an item that arrives when all are busy waits, and goes out with the next call, up
/// to `max_batch` items at a time.
pub(super) struct Batcher<O: Operation> {
    backend: Arc<dyn SessionBackend>,
    max_batch: usize,
    max_in_flight: usize,
    queue: Mutex<Queue<O>>,
}

struct Queue<O: Operation> {
    /// Calls in flight (a request's own, or a draining task's).
    in_flight: usize,
    /// With [`Operation::ONE_PER_ID`]: the ids that have an item in flight, whose next items
    /// wait for it.
    busy: HashSet<SessionId>,
    waiting: VecDeque<Waiting<O>>,
}

struct Waiting<O: Operation> {
    item: O::Item,
    reply: oneshot::Sender<O::Output>,
}

impl<O: Operation> Batcher<O> {
    pub(super) fn new(
        backend: Arc<dyn SessionBackend>,
        max_batch: usize,
        max_in_flight: usize,
    ) -> Self {
        Self {
            backend,
            max_batch: max_batch.max(1),
            max_in_flight: max_in_flight.max(1),
            queue: Mutex::new(Queue {
                in_flight: 0,
                busy: HashSet::new(),
                waiting: VecDeque::new(),
            }),
        }
    }

    /// Sends an operation on `id`: at once, as `alone()` (the single call, on the request's
    /// own data: nothing is copied), when a call is free; else `item()`, an owned copy, with
    /// the next batch.
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
            // An item of an id that has one in flight, or (keeping each id's order) of any id
            // while items wait, waits too.
            let free = queue.in_flight < self.max_in_flight
                && !(O::ONE_PER_ID && (queue.busy.contains(id) || !queue.waiting.is_empty()));
            if free {
                queue.in_flight += 1;
                if O::ONE_PER_ID {
                    queue.busy.insert(id.clone());
                }
                None
            } else {
                let (reply, answer) = oneshot::channel();
                queue.waiting.push_back(Waiting {
                    item: item(),
                    reply,
                });
                Some(answer)
            }
        };
        match answer {
            None => {
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

    /// A call ended, with these ids in it: they are free again, and a call is free for the
    /// waiting items.
    fn ended<'a>(self: &Arc<Self>, ids: impl IntoIterator<Item = &'a SessionId>) {
        let mut queue = self.lock();
        queue.in_flight -= 1;
        for id in ids {
            queue.busy.remove(id);
        }
        self.drain_waiting(&mut queue);
    }

    /// Starts a draining task when items wait and a call is free: on a task of its own, so
    /// that no request waits for other requests' batches.
    fn drain_waiting(self: &Arc<Self>, queue: &mut Queue<O>) {
        if queue.waiting.is_empty() || queue.in_flight >= self.max_in_flight {
            return;
        }
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                queue.in_flight += 1;
                runtime.spawn(Arc::clone(self).drain());
            }
            // No runtime to send them from: the waiting requests fail (their answers drop).
            Err(_) => queue.waiting.clear(),
        }
    }

    /// Sends batches until none can go.
    async fn drain(self: Arc<Self>) {
        loop {
            let batch = {
                let mut queue = self.lock();
                let batch = queue.take(self.max_batch);
                if batch.is_empty() {
                    queue.in_flight -= 1;
                    return;
                }
                if O::ONE_PER_ID {
                    for waiting in &batch {
                        queue.busy.insert(O::id(&waiting.item).clone());
                    }
                }
                // More wait than this batch holds: another call may take them meanwhile.
                self.drain_waiting(&mut queue);
                batch
            };
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
            {
                let mut queue = self.lock();
                if O::ONE_PER_ID {
                    for item in &items {
                        queue.busy.remove(O::id(item));
                    }
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

impl<O: Operation> Queue<O> {
    /// The next batch: up to `max` waiting items, oldest first; with
    /// [`Operation::ONE_PER_ID`], at most one per id and none of an id in flight. The rest
    /// keep their order. Items whose request has gone are dropped.
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
            if O::ONE_PER_ID {
                let id = O::id(&waiting.item);
                if self.busy.contains(id) || !ids.insert(id.clone()) {
                    held.push_back(waiting);
                    continue;
                }
            }
            batch.push(waiting);
        }
        self.waiting = held;
        batch
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
        self.lock().waiting.len()
    }
}
