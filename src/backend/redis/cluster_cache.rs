//! The local cache on a Redis Cluster: a [`LocalCache`] per master, each with its tracking
//! connection to that master, which tracks the keys read (and written) through it and sends
//! their invalidations; a key's entry lives in the cache of the master that serves its slot.
//! A slot that moves away takes its entries with it: the move deletes each key on the old
//! master, which invalidates it. A master that fails takes its cache's trust with it (its
//! connection ends, the cache is flushed), and the promoted replica gets a cache of its own.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use deadpool_redis::redis::ConnectionInfo;

use super::cache::LocalCache;
use super::cache_server::{resp3, Connector};
use super::cluster_nodes::{node_settings, Address};
use crate::backend::error::BackendError;

/// One local cache per master, made when a key of its slots is first read or written.
pub(super) struct MasterCaches {
    /// What every tracking connection is opened with, its address replaced.
    settings: ConnectionInfo,
    /// Each master's cache holds at most this many records.
    max_entries: usize,
    caches: Mutex<HashMap<Address, Arc<LocalCache>>>,
}

impl MasterCaches {
    pub(super) fn new(settings: ConnectionInfo, max_entries: usize) -> Self {
        Self {
            settings,
            max_entries,
            caches: Mutex::default(),
        }
    }

    /// The cache of the master at `address`, made (and connecting) when there is none.
    pub(super) fn of(&self, address: &Address) -> Result<Arc<LocalCache>, BackendError> {
        let mut caches = self.lock();
        if let Some(cache) = caches.get(address) {
            return Ok(Arc::clone(cache));
        }
        let client = resp3(node_settings(&self.settings, address))?;
        let cache = Arc::new(LocalCache::new(Connector::Server(client), self.max_entries));
        caches.insert(address.clone(), Arc::clone(&cache));
        Ok(cache)
    }

    /// Keeps the caches of `masters` only: one of a node that is no longer a master (it
    /// failed, or was demoted) goes, with its connection.
    pub(super) fn keep_only(&self, masters: &[Address]) {
        self.lock().retain(|address, _| masters.contains(address));
    }

    /// Drops `key` from whichever cache holds it, after this process wrote it another way.
    pub(super) fn forget(&self, key: &str) {
        for cache in self.lock().values() {
            cache.forget(key);
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<Address, Arc<LocalCache>>> {
        // Held only to look up, add or remove caches.
        self.caches.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl std::fmt::Debug for MasterCaches {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Not the settings: they may hold a password.
        f.debug_struct("MasterCaches")
            .field("masters", &self.lock().len())
            .field("max_entries", &self.max_entries)
            .finish_non_exhaustive()
    }
}
