//! What the local cache holds ([`Entries`]), the tracking connection it trusts, and until when
//! ([`Tracking`]): shared by the cache, which serves and fills the entries, and the task that
//! keeps the connection (`cache_watch`), which applies invalidations and renews the trust.

use std::collections::hash_map::RandomState;
use std::collections::HashMap;
use std::hash::BuildHasher;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use deadpool_redis::redis::aio::MultiplexedConnection;

use super::cache_server::Connector;

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

/// How many counters tell the keys' changes apart (a key's is picked by its hash): two keys that
/// share one only make each other's reads in flight uncached now and then.
const STRIPES: usize = 4096;

/// What the cache holds, and how it knows an answer is still current.
pub(super) struct Entries {
    pub(super) records: HashMap<String, (Record, Instant)>,
    /// Bumped by every flush: a read or write that began before a bump may have fetched what
    /// is no longer so, and is not cached.
    pub(super) generation: u64,
    /// The same, key by key: a key's counter is bumped by its invalidation and by this
    /// process's writes of it (as they are sent, and as they are answered), so that what a
    /// read or write in flight brings back is cached only if nothing else touched the key
    /// meanwhile, whatever order the tasks that wait for the replies run in.
    stripes: Box<[u64]>,
    hasher: RandomState,
    /// The trusted tracking connection, if any: entries came through it, and only its
    /// invalidations cover them.
    pub(super) tracking: Option<Tracking>,
}

impl Default for Entries {
    fn default() -> Self {
        Self {
            records: HashMap::new(),
            generation: 0,
            stripes: vec![0; STRIPES].into_boxed_slice(),
            hasher: RandomState::new(),
            tracking: None,
        }
    }
}

impl Entries {
    /// The change counter of `key`.
    pub(super) fn version(&self, key: &str) -> u64 {
        self.stripes[self.stripe(key)]
    }

    /// Counts a change of `key` (an invalidation, a write of this process sent or answered);
    /// the counter's new value.
    pub(super) fn touch(&mut self, key: &str) -> u64 {
        let stripe = self.stripe(key);
        self.stripes[stripe] += 1;
        self.stripes[stripe]
    }

    /// Drops `key`'s entry, and counts the change.
    pub(super) fn forget(&mut self, key: &str) {
        self.records.remove(key);
        self.touch(key);
    }

    /// Caches `record` under `key` until `expires`, within `max_entries`: when full, an
    /// arbitrary entry (the hash order's first) makes room, in O(1).
    pub(super) fn put(&mut self, key: &str, record: Record, expires: Instant, max_entries: usize) {
        if max_entries == 0 {
            return;
        }
        if self.records.len() >= max_entries && !self.records.contains_key(key) {
            if let Some(evicted) = self.records.keys().next().cloned() {
                self.records.remove(&evicted);
            }
        }
        self.records.insert(key.to_owned(), (record, expires));
    }

    /// Whether what connection `number` brought back, as of `generation`, may be cached: the
    /// connection is still the trusted one and nothing was flushed since.
    pub(super) fn current(&self, number: u64, generation: u64) -> bool {
        self.generation == generation
            && self
                .tracking
                .as_ref()
                .is_some_and(|tracking| tracking.number == number)
    }

    fn stripe(&self, key: &str) -> usize {
        // The remainder is below `STRIPES`, which fits a usize.
        (self.hasher.hash_one(key) % STRIPES as u64) as usize
    }

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
    pub(super) connector: Connector,
    pub(super) entries: Mutex<Entries>,
}

impl Shared {
    pub(super) fn lock(&self) -> MutexGuard<'_, Entries> {
        // Held only to read or change the map: nothing is left half-done.
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
