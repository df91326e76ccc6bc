//! [`Recorder`]: a lifecycle-event handler that keeps what it hears, for tests to wait on.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum_session_store::session::{SessionEvent, SessionEvents};
use tokio::sync::Notify;

/// Keeps every event it is sent; clones share them.
#[derive(Clone, Debug, Default)]
pub struct Recorder {
    events: Arc<Mutex<Vec<SessionEvent>>>,
    arrived: Arc<Notify>,
}

impl SessionEvents for Recorder {
    async fn handle(&self, event: SessionEvent) {
        self.events.lock().unwrap().push(event);
        self.arrived.notify_waiters();
    }
}

impl Recorder {
    /// The events so far.
    pub fn events(&self) -> Vec<SessionEvent> {
        self.events.lock().unwrap().clone()
    }

    /// The events once there are `count` of them; panics after 10 s with what came.
    pub async fn wait_for(&self, count: usize) -> Vec<SessionEvent> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let arrived = self.arrived.notified();
            let events = self.events();
            if events.len() >= count {
                return events;
            }
            if tokio::time::timeout_at(deadline, arrived).await.is_err() {
                panic!(
                    "{count} events expected, {} came: {events:#?}",
                    events.len()
                );
            }
        }
    }

    /// Takes the events once there are `count`, checking no more come within 100 ms.
    pub async fn take_exactly(&self, count: usize) -> Vec<SessionEvent> {
        self.wait_for(count).await;
        tokio::time::sleep(Duration::from_millis(100)).await;
        let events = std::mem::take(&mut *self.events.lock().unwrap());
        assert_eq!(events.len(), count, "{events:#?}");
        events
    }
}
