//! [`LocalCache`]: records kept in this process, coherent with Redis through server-assisted
//! invalidation (RESP3 `CLIENT TRACKING`): Redis remembers which keys the cache's own
//! connection read and tells it, on that connection, when any of them changes, expires or is
//! deleted; the entry goes then.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use deadpool_redis::redis::aio::{AsyncPushSender, MultiplexedConnection, SendError};
use deadpool_redis::redis::{
    self, AsyncConnectionConfig, Client, IntoConnectionInfo, ProtocolVersion, PushInfo, PushKind,
    Value as RedisValue,
};

use super::fields::parse_record;
use crate::backend::error::BackendError;
use crate::backend::session_backend::Record;
use crate::backend::timeout::bounded;

/// What the cache holds, and how it knows an answer is still current.
#[derive(Default)]
struct Entries {
    records: HashMap<String, (Record, Instant)>,
    /// Bumped by every invalidation, flush and local write: a read that began before a bump
    /// may have fetched what is no longer so, and is not cached.
    generation: u64,
    /// The tracking connection the entries came through (0: none). Its invalidations are the
    /// only ones that cover them.
    connection: u64,
}

/// Records read through a tracking connection, with their expiry.
pub(super) struct LocalCache {
    client: Client,
    max_entries: usize,
    entries: Arc<Mutex<Entries>>,
    /// The tracking connection and its number; connecting holds the lock, so there is one.
    tracking: tokio::sync::Mutex<Option<(MultiplexedConnection, u64)>>,
}

impl LocalCache {
    /// A cache of at most `max_entries` records, reading through its own RESP3 connection to
    /// `url` (which must be the server the backend's pool reaches).
    pub(super) fn new(
        url: impl IntoConnectionInfo,
        max_entries: usize,
    ) -> Result<Self, BackendError> {
        let info = url
            .into_connection_info()
            .map_err(|e| BackendError::new("the local cache's Redis URL is not valid", e))?;
        let settings = info
            .redis_settings()
            .clone()
            .set_protocol(ProtocolVersion::RESP3);
        let client = Client::open(info.set_redis_settings(settings))
            .map_err(|e| BackendError::new("the local cache's Redis URL is not valid", e))?;
        Ok(Self {
            client,
            max_entries,
            entries: Arc::default(),
            tracking: tokio::sync::Mutex::new(None),
        })
    }

    /// The record under `key`, if the cache holds it and it has not expired.
    pub(super) fn get(&self, key: &str) -> Option<Record> {
        let mut entries = self.lock();
        match entries.records.get(key) {
            Some((record, expires)) if *expires > Instant::now() => Some(record.clone()),
            Some(_) => {
                entries.records.remove(key);
                None
            }
            None => None,
        }
    }

    /// Drops `key` after this process wrote it, so the next read fetches it again.
    pub(super) fn forget(&self, key: &str) {
        let mut entries = self.lock();
        entries.records.remove(key);
        entries.generation += 1;
    }

    /// Drops every entry (after a write whose keys are not known one by one).
    pub(super) fn flush(&self) {
        let mut entries = self.lock();
        entries.records.clear();
        entries.generation += 1;
    }

    /// Reads `keys` through the tracking connection (one pipeline), and keeps what it read
    /// unless something was invalidated meanwhile, all within `timeout`. On any failure the
    /// connection is given up and the cache flushed: the caller reads without it.
    pub(super) async fn fetch(
        &self,
        keys: &[String],
        timeout: Duration,
    ) -> Result<Vec<Option<Record>>, BackendError> {
        let doing = || "reading through the local cache's connection".to_owned();
        let result = bounded(timeout, doing, "Redis", self.try_fetch(keys, timeout)).await;
        if result.is_err() {
            self.disconnect().await;
        }
        result
    }

    async fn try_fetch(
        &self,
        keys: &[String],
        timeout: Duration,
    ) -> Result<Vec<Option<Record>>, BackendError> {
        let (mut connection, number) = self.connection(timeout).await?;
        let generation = self.lock().generation;
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
        let mut entries = self.lock();
        let current = entries.generation == generation && entries.connection == number;
        let mut records = Vec::with_capacity(keys.len());
        for (key, (record, ttl)) in keys.iter().zip(fetched) {
            let ttl = u64::try_from(ttl).ok().filter(|ttl| *ttl > 0);
            if let (true, Some(record), Some(ttl), true) =
                (current, &record, ttl, self.max_entries > 0)
            {
                if entries.records.len() >= self.max_entries && !entries.records.contains_key(key) {
                    // Full: an arbitrary entry (the hash order's first) makes room, in O(1).
                    if let Some(evicted) = entries.records.keys().next().cloned() {
                        entries.records.remove(&evicted);
                    }
                }
                let expires = sent + Duration::from_millis(ttl);
                entries
                    .records
                    .insert(key.clone(), (record.clone(), expires));
            }
            records.push(record);
        }
        Ok(records)
    }

    /// The tracking connection, connecting (and turning tracking on) when there is none.
    async fn connection(
        &self,
        timeout: Duration,
    ) -> Result<(MultiplexedConnection, u64), BackendError> {
        let mut tracking = self.tracking.lock().await;
        if let Some((connection, number)) = tracking.as_ref() {
            // A connection that said it dropped is replaced.
            if self.lock().connection == *number {
                return Ok((connection.clone(), *number));
            }
        }
        let number = {
            let mut entries = self.lock();
            entries.records.clear();
            entries.generation += 1;
            entries.connection = entries.generation;
            entries.connection
        };
        let invalidations = Invalidations {
            entries: self.entries.clone(),
            connection: number,
        };
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(timeout))
            .set_response_timeout(Some(timeout))
            .set_push_sender(invalidations);
        let mut connection = self
            .client
            .get_multiplexed_async_connection_with_config(&config)
            .await
            .map_err(|e| BackendError::new("connecting the local cache to Redis", e))?;
        redis::cmd("CLIENT")
            .arg("TRACKING")
            .arg("ON")
            .query_async::<()>(&mut connection)
            .await
            .map_err(|e| BackendError::new("turning on CLIENT TRACKING for the local cache", e))?;
        *tracking = Some((connection.clone(), number));
        Ok((connection, number))
    }

    /// Gives the tracking connection up and flushes: nothing it cached is covered any more.
    async fn disconnect(&self) {
        *self.tracking.lock().await = None;
        let mut entries = self.lock();
        entries.records.clear();
        entries.generation += 1;
        entries.connection = 0;
    }

    fn lock(&self) -> MutexGuard<'_, Entries> {
        lock(&self.entries)
    }
}

fn lock(entries: &Mutex<Entries>) -> MutexGuard<'_, Entries> {
    // Held only to read or change the map: nothing is left half-done.
    entries.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Applies the pushes of one tracking connection to the cache, as they arrive.
struct Invalidations {
    entries: Arc<Mutex<Entries>>,
    connection: u64,
}

impl AsyncPushSender for Invalidations {
    fn send(&self, info: PushInfo) -> Result<(), SendError> {
        let mut entries = lock(&self.entries);
        match info.kind {
            PushKind::Invalidate => {
                // One array of keys, or nil: everything (the server flushed its table).
                match info.data.into_iter().next() {
                    Some(RedisValue::Array(keys)) => {
                        for key in keys {
                            if let Ok(key) = redis::from_redis_value::<String>(key) {
                                entries.records.remove(&key);
                            }
                        }
                    }
                    _ => entries.records.clear(),
                }
                entries.generation += 1;
            }
            PushKind::Disconnection if entries.connection == self.connection => {
                // Invalidations are lost from here on: nothing cached can be trusted.
                entries.records.clear();
                entries.generation += 1;
                entries.connection = 0;
            }
            _ => {}
        }
        Ok(())
    }
}
