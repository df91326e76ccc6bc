//! What the local cache holds ([`Entries`]), the tracking connection it trusts, and until when
//! ([`Tracking`]): shared by the cache, which serves and fills the entries, and the task that
//! keeps the connection (`cache_watch`), which applies invalidations and renews the trust.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use deadpool_redis::redis::aio::MultiplexedConnection;
use deadpool_redis::redis::Client;

use crate::backend::session_backend::Record;
use crate::telemetry;

/// The tracking connection the cache reads through, while it is trusted.
pub(super) struct Tracking {
    pub(super) connection: MultiplexedConnection,
    /// Tells this connection from earlier ones, whose pushes no longer count.
    pub(super) number: u64,
    /// Until when what came through it may be served: the time the last `PING` it answered
    /// was sent, plus the staleness bound (`cache_watch::STALENESS_BOUND`). Every
    /// invalidation of a write Redis ran before that `PING` arrived before its answer.
    pub(super) trusted_until: Instant,
}

/// What the cache holds, and how it knows an answer is still current.
#[derive(Default)]
pub(super) struct Entries {
    pub(super) records: HashMap<String, (Record, Instant)>,
    /// Bumped by every invalidation, flush and local write: a read that began before a bump
    /// may have fetched what is no longer so, and is not cached.
    pub(super) generation: u64,
    /// The trusted tracking connection, if any: entries came through it, and only its
    /// invalidations cover them.
    pub(super) tracking: Option<Tracking>,
}

impl Entries {
    /// Drops every entry: nothing read before now may be served.
    pub(super) fn flush(&mut self) {
        telemetry::cache("flush");
        self.records.clear();
        self.generation += 1;
    }

    /// Gives up the tracking connection `number` (if it is still the one) and flushes: what
    /// came through it is not covered any more.
    pub(super) fn lose(&mut self, number: u64) {
        if self
            .tracking
            .as_ref()
            .is_some_and(|tracking| tracking.number == number)
        {
            self.tracking = None;
            self.flush();
        }
    }

    /// The tracking connection and its number, while its trust lasts; past it, gives it up.
    pub(super) fn trusted(&mut self, now: Instant) -> Option<(MultiplexedConnection, u64)> {
        let tracking = self.tracking.as_ref()?;
        if tracking.trusted_until > now {
            return Some((tracking.connection.clone(), tracking.number));
        }
        let number = tracking.number;
        self.lose(number);
        None
    }
}

/// What the cache and the task that watches its connection share.
pub(super) struct Shared {
    pub(super) client: Client,
    pub(super) entries: Mutex<Entries>,
}

impl Shared {
    pub(super) fn lock(&self) -> MutexGuard<'_, Entries> {
        // Held only to read or change the map: nothing is left half-done.
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
