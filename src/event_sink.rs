//! [`EventSink`]: the bounded buffer between requests and the app's [`SessionEvents`] handler,
//! and the [`Emitter`] a request sends through.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use time::OffsetDateTime;
use tokio::sync::mpsc;

use crate::event::{EventKind, SessionEvent, SessionEvents};
use crate::handle::HandleKey;
use crate::id::SessionId;
use crate::telemetry;

/// [`SessionEvents`], object-safe, with a future that owns what it needs.
trait DynEvents: Send + Sync + 'static {
    fn handle_owned(
        self: Arc<Self>,
        event: SessionEvent,
    ) -> Pin<Box<dyn Future<Output = ()> + Send + 'static>>;
}

impl<E: SessionEvents> DynEvents for E {
    fn handle_owned(
        self: Arc<Self>,
        event: SessionEvent,
    ) -> Pin<Box<dyn Future<Output = ()> + Send + 'static>> {
        Box::pin(async move { self.handle(event).await })
    }
}

/// Where a config's events go: a bounded channel, drained by one task that calls the handler.
pub(crate) struct EventSink {
    handler: Arc<dyn DynEvents>,
    capacity: usize,
    /// The channel's sender, made (with its task) by the first event sent in a runtime, and
    /// again if that runtime shut down.
    sender: Mutex<Option<mpsc::Sender<SessionEvent>>>,
    dropped: AtomicU64,
}

/// How many events wait for the handler unless
/// [`event_buffer`](crate::SessionConfigBuilder::event_buffer) says otherwise.
pub(crate) const DEFAULT_EVENT_BUFFER: usize = 1024;

impl EventSink {
    /// The sink of `handler`, buffering up to `capacity` events.
    pub(crate) fn new(handler: impl SessionEvents, capacity: usize) -> Self {
        Self {
            handler: Arc::new(handler),
            capacity,
            sender: Mutex::new(None),
            dropped: AtomicU64::new(0),
        }
    }

    /// The same sink, buffering up to `capacity` events.
    pub(crate) fn with_capacity(self, capacity: usize) -> Self {
        Self { capacity, ..self }
    }

    /// How many events were dropped: the buffer was full, or no runtime could run the handler.
    pub(crate) fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Queues `event` without waiting; drops it, counted, when the buffer is full.
    fn send(&self, event: SessionEvent) {
        let mut sender = self.sender.lock().unwrap_or_else(PoisonError::into_inner);
        if sender.as_ref().is_none_or(mpsc::Sender::is_closed) {
            *sender = tokio::runtime::Handle::try_current()
                .ok()
                .map(|runtime| self.start(&runtime));
        }
        let sent = sender
            .as_ref()
            .is_some_and(|sender| sender.try_send(event).is_ok());
        if !sent {
            telemetry::event_dropped();
            let dropped = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
            // A power of two: a full buffer is said, without a line per event.
            if dropped.is_power_of_two() {
                tracing::warn!(
                    dropped,
                    capacity = self.capacity,
                    "session event dropped: the handler is behind and its buffer is full"
                );
            }
        }
    }

    /// A channel and the task that drains it into the handler, one event at a time.
    fn start(&self, runtime: &tokio::runtime::Handle) -> mpsc::Sender<SessionEvent> {
        let (sender, mut receiver) = mpsc::channel::<SessionEvent>(self.capacity);
        let handler = self.handler.clone();
        runtime.spawn(async move {
            while let Some(event) = receiver.recv().await {
                let kind = event.kind.as_str();
                // Its own task: a panic ends that call, not the drain.
                let call = tokio::spawn(handler.clone().handle_owned(event));
                if let Err(error) = call.await {
                    tracing::error!(event = kind, %error, "session event handler failed");
                }
            }
        });
        sender
    }
}

impl fmt::Debug for EventSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventSink")
            .field("capacity", &self.capacity)
            .field("dropped", &self.dropped())
            .finish_non_exhaustive()
    }
}

/// What one session of one request sends its events through: nothing when events are off.
#[derive(Clone, Copy)]
pub(crate) struct Emitter<'a> {
    pub(crate) sink: Option<&'a EventSink>,
    pub(crate) handles: &'a HandleKey,
    pub(crate) session: &'a str,
    pub(crate) backend: &'a Arc<str>,
    pub(crate) at: OffsetDateTime,
}

impl Emitter<'_> {
    /// Sends `kind` for the session whose record is `id` (if any).
    pub(crate) fn emit(&self, kind: EventKind, id: Option<&SessionId>) {
        if telemetry::ON {
            let reason = match &kind {
                EventKind::CookieRejected { reason } => Some(reason.as_str()),
                _ => None,
            };
            telemetry::lifecycle(self.backend, kind.as_str(), reason);
        }
        if let Some(sink) = self.sink {
            sink.send(SessionEvent {
                kind,
                session: self.session.to_owned(),
                backend: self.backend.to_string(),
                handle: id.map(|id| self.handles.handle(id)),
                at: self.at,
            });
        }
    }

    /// Sends what `kind` makes of the handles, only when events or metrics are on.
    pub(crate) fn emit_with(
        &self,
        kind: impl FnOnce(&HandleKey) -> EventKind,
        id: Option<&SessionId>,
    ) {
        if self.sink.is_some() || telemetry::ON {
            self.emit(kind(self.handles), id);
        }
    }
}
