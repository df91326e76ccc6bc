//! [`LocalCache`]: records kept in this process, coherent with Redis through server-assisted
//! invalidation (RESP3 `CLIENT TRACKING`): Redis remembers which keys the cache's own
//! connection read and tells it, on that connection, when any of them changes, expires or is
//! deleted; the entry goes then. Entries are served only while that connection is proven alive
//! (`cache_watch`): a silent connection brings no invalidations, so its cache must not be
//! trusted for long. This process's saves go through the same connection and keep their
//! entries current (`cache_writes`).

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use deadpool_redis::redis::aio::MultiplexedConnection;
use deadpool_redis::redis::{self, Value as RedisValue};
use tokio::task::JoinHandle;

use super::cache_entries::Shared;
use super::cache_server::Connector;
use super::cache_watch::watch;
use super::fields::parse_record;
use crate::backend::error::BackendError;
use crate::backend::session_backend::Record;
use crate::telemetry;

/// How a request on the tracking connection ended without an answer.
pub(super) enum Unanswered {
    /// The connection failed or went silent, and is given up: the request may go to Redis
    /// another way.
    Lost(BackendError),
    /// It took longer than the operation's timeout.
    TimedOut(BackendError),
}

/// Records read through a tracking connection, with their expiry.
pub(super) struct LocalCache {
    pub(super) shared: Arc<Shared>,
    pub(super) max_entries: usize,
    /// The task that connects, turns tracking on and keeps proving the connection alive;
    /// started on first use, and again if its runtime went away.
    watcher: Mutex<Option<JoinHandle<()>>>,
}

impl LocalCache {
    /// A cache of at most `max_entries` records, reading through its own RESP3 connection,
    /// which `connector` opens (to the server the backend's pool reaches).
    pub(super) fn new(connector: Connector, max_entries: usize) -> Self {
        let cache = Self {
            shared: Arc::new(Shared {
                connector,
                entries: Mutex::default(),
            }),
            max_entries,
            watcher: Mutex::new(None),
        };
        // Built inside a runtime (as usual), it connects at once, so the first loads can hit.
        cache.watch();
        cache
    }

    /// The record under `key`, if the cache holds it, it has not expired, and the tracking
    /// connection is still trusted.
    pub(super) fn get(&self, key: &str) -> Option<Record> {
        let now = Instant::now();
        let mut entries = self.shared.lock();
        entries.trusted(now)?;
        let found = match entries.records.get(key) {
            Some((record, expires)) if *expires > now => Some(record.clone()),
            Some(_) => {
                entries.records.remove(key);
                None
            }
            None => None,
        };
        telemetry::cache(if found.is_some() { "hit" } else { "miss" });
        found
    }

    /// Drops `key` after this process wrote it, so the next read fetches it again.
    pub(super) fn forget(&self, key: &str) {
        self.shared.lock().forget(key);
    }

    /// Drops every entry (after a write whose keys are not known one by one).
    pub(super) fn flush(&self) {
        self.shared.lock().flush();
    }

    /// Reads `keys` through the tracking connection (one pipeline), and keeps what it read
    /// unless something touched it meanwhile. `None` when the caller must read without the
    /// cache: the connection is not trusted (then this returns at once), or it failed, went
    /// silent (then this returns when its trust runs out, at most the staleness bound after it
    /// went silent) or took longer than `timeout`.
    pub(super) async fn fetch(
        &self,
        keys: &[String],
        timeout: Duration,
    ) -> Option<Vec<Option<Record>>> {
        let (connection, number) = self.tracking()?;
        match self
            .on_tracking(number, timeout, self.read(connection, number, keys))
            .await
        {
            Ok(records) => Some(records),
            Err(Unanswered::Lost(error) | Unanswered::TimedOut(error)) => {
                tracing::debug!(%error, "local cache read failed; reading without it");
                None
            }
        }
    }

    /// The trusted tracking connection and its number, starting the watcher if it does not
    /// run; `None` while none is trusted.
    pub(super) fn tracking(&self) -> Option<(MultiplexedConnection, u64)> {
        self.watch();
        self.shared.lock().trusted(Instant::now())
    }

    /// Runs `work` on the tracking connection `number`, for at most `timeout` and no longer
    /// than the connection stays trusted; when it fails, goes silent or times out, gives the
    /// connection up (which flushes the cache).
    pub(super) async fn on_tracking<T>(
        &self,
        number: u64,
        timeout: Duration,
        work: impl std::future::Future<Output = Result<T, BackendError>>,
    ) -> Result<T, Unanswered> {
        let deadline = Instant::now() + timeout;
        let mut work = std::pin::pin!(work);
        let failure = loop {
            // Wakes when the connection's trust would run out, to see whether it was renewed.
            let wake = {
                let mut entries = self.shared.lock();
                match entries.trusted(Instant::now()) {
                    Some((_, current)) if current == number => entries
                        .tracking
                        .as_ref()
                        .map_or(deadline, |tracking| tracking.trusted_until.min(deadline)),
                    _ => break Unanswered::Lost(BackendError::msg("its connection went silent")),
                }
            };
            match tokio::time::timeout_at(wake.into(), &mut work).await {
                Ok(Ok(done)) => return Ok(done),
                Ok(Err(error)) => break Unanswered::Lost(error),
                Err(_) if Instant::now() >= deadline => {
                    break Unanswered::TimedOut(BackendError::timeout(format!(
                        "Redis did not answer within {} ms",
                        timeout.as_millis()
                    )))
                }
                Err(_) => {}
            }
        };
        self.shared.lock().lose(number);
        Err(failure)
    }

    /// [`fetch`](Self::fetch)'s read on `connection`, number `number`.
    async fn read(
        &self,
        mut connection: MultiplexedConnection,
        number: u64,
        keys: &[String],
    ) -> Result<Vec<Option<Record>>, BackendError> {
        let (generation, versions) = {
            let entries = self.shared.lock();
            let versions: Vec<u64> = keys.iter().map(|key| entries.version(key)).collect();
            (entries.generation, versions)
        };
        let mut pipeline = redis::pipe();
        for key in keys {
            pipeline.cmd("HGETALL").arg(key).cmd("PTTL").arg(key);
        }
        // The server's clock counts the TTL from when it ran the read, which is after now.
        let sent = Instant::now();
        let replies: Vec<RedisValue> = pipeline
            .query_async(&mut connection)
            .await
            .map_err(|e| BackendError::new("reading through the local cache's connection", e))?;
        let mut replies = replies.into_iter();
        let mut fetched = Vec::with_capacity(keys.len());
        for _ in keys {
            let (Some(fields), Some(ttl)) = (replies.next(), replies.next()) else {
                return Err(BackendError::msg(
                    "the local cache's read got too few replies",
                ));
            };
            let fields: Vec<(Vec<u8>, Vec<u8>)> = redis::from_redis_value(fields).map_err(|e| {
                BackendError::new("reading a session record", redis::RedisError::from(e))
            })?;
            let ttl: i64 = redis::from_redis_value(ttl).map_err(|e| {
                BackendError::new("reading a session's TTL", redis::RedisError::from(e))
            })?;
            let record = (!fields.is_empty())
                .then(|| parse_record(fields))
                .transpose()?;
            fetched.push((record, ttl));
        }
        let mut entries = self.shared.lock();
        let current = entries.current(number, generation);
        let mut records = Vec::with_capacity(keys.len());
        for ((key, (record, ttl)), version) in keys.iter().zip(fetched).zip(versions) {
            let ttl = u64::try_from(ttl).ok().filter(|ttl| *ttl > 0);
            if let (true, Some(record), Some(ttl)) = (current, &record, ttl) {
                if entries.version(key) == version {
                    let expires = sent + Duration::from_millis(ttl);
                    entries.put(key, record.clone(), expires, self.max_entries);
                }
            }
            records.push(record);
        }
        Ok(records)
    }

    /// Starts the watcher unless it runs; outside a Tokio runtime, does nothing (the next
    /// load, which runs in one, starts it).
    fn watch(&self) {
        let mut watcher = self.watcher.lock().unwrap_or_else(PoisonError::into_inner);
        if watcher.as_ref().is_some_and(|task| !task.is_finished()) {
            return;
        }
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            *watcher = Some(runtime.spawn(watch(Arc::downgrade(&self.shared))));
        }
    }
}

impl Drop for LocalCache {
    fn drop(&mut self) {
        let watcher = self
            .watcher
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(task) = watcher.take() {
            task.abort();
        }
    }
}
