//! The local cache's writes: changes applied through its tracking connection (which tracks the
//! keys it reads, but, with `NOLOOP`, brings no invalidation of its own writes), each ending in
//! a read of the record, so that the reply is what Redis holds after the write and becomes the
//! entry. A request that reads its session and changes it costs one round trip: the load is a
//! hit, and the save keeps the entry current instead of dropping it.
//!
//! The ordering the cache keeps: a write's key is touched (`Entries::touch`) as the write is
//! sent and again as it is answered, and its reply is cached only if nothing touched the key
//! in between: no invalidation (another process's later change), no other write of this
//! process, whatever order the tasks waiting for the replies run in. A read in flight is
//! cached only if its key was not touched since it was sent, so it never puts back what a
//! write replaced.

use std::time::{Duration, Instant};

use deadpool_redis::redis::aio::MultiplexedConnection;
use deadpool_redis::redis::{self, RedisError, Value as RedisValue};

use super::cache::{LocalCache, Unanswered};
use super::connection::{each_replied, invocation, is_noscript, is_redirected, Replication};
use super::fields::parse_record;
use super::scripts::APPLY_AND_READ;
use crate::backend::error::BackendError;
use crate::backend::session_backend::Record;

const APPLYING: &str = "applying changes to the session record in Redis";

/// A key and the arguments of the `APPLY` script for it.
pub(super) type ApplyArgs = (String, Vec<Vec<u8>>);

/// A hash's fields and values, as `HGETALL` gives them.
type HashFields = Vec<(Vec<u8>, Vec<u8>)>;

/// Each command's own result, and the replicas `WAIT` counted (`None` without replication).
type Replies = (
    Vec<Result<RedisValue, RedisError>>,
    Option<Result<usize, RedisError>>,
);

impl LocalCache {
    /// Applies each of `items` through the tracking connection, in one pipeline (and one
    /// `WAIT` with `replication`), and caches what each write leaves in Redis unless something
    /// touched its key meanwhile. Whether each record existed (and was changed).
    ///
    /// `None` when the caller must write without the cache: no connection is trusted (then
    /// this returns at once), or it failed or went silent before answering (then this returns
    /// when its trust runs out, at most the staleness bound after it went silent; the writes
    /// may have run, and applying the same changes again leaves the same record).
    pub(super) async fn apply(
        &self,
        items: &[ApplyArgs],
        timeout: Duration,
        replication: Option<Replication>,
    ) -> Option<Vec<Result<bool, BackendError>>> {
        let (connection, number) = self.tracking()?;
        let (generation, versions) = {
            let mut entries = self.shared.lock();
            let versions: Vec<u64> = items.iter().map(|(key, _)| entries.touch(key)).collect();
            (entries.generation, versions)
        };
        // The server's clock counts the TTL from when it ran the write, which is after now.
        let sent = Instant::now();
        let written = self
            .on_tracking(number, timeout, write(connection, items, replication))
            .await;
        let (replies, replicas) = match written {
            Ok(replies) => replies,
            Err(Unanswered::Lost(error)) => {
                tracing::debug!(%error, "local cache write failed; writing without it");
                return None;
            }
            Err(Unanswered::TimedOut(error)) => {
                return Some(items.iter().map(|_| Err(error.clone())).collect());
            }
        };
        let replicated = match (replication, replicas) {
            (Some(replication), Some(replicas)) => replicas
                .map_err(|e| BackendError::new(APPLYING, e))
                .and_then(|replicas| replication.confirmed(replicas, APPLYING)),
            _ => Ok(()),
        };
        let mut entries = self.shared.lock();
        let current = entries.current(number, generation) && replicated.is_ok();
        let mut replies = replies.into_iter();
        let mut applied = Vec::with_capacity(items.len());
        for ((key, _), version) in items.iter().zip(versions) {
            let untouched = entries.touch(key) == version + 1;
            let reply = replies
                .next()
                .ok_or_else(|| BackendError::msg(format!("{APPLYING}: Redis gave no reply for it")))
                .and_then(|reply| reply.map_err(|e| BackendError::new(APPLYING, e)))
                .and_then(written_record);
            let outcome = match reply {
                Ok(Some((record, ttl))) => {
                    if current && untouched {
                        entries.put(key, record, sent + ttl, self.max_entries);
                    } else {
                        entries.records.remove(key);
                    }
                    Ok(true)
                }
                Ok(None) => {
                    entries.records.remove(key);
                    Ok(false)
                }
                Err(error) => {
                    entries.records.remove(key);
                    Err(error)
                }
            };
            applied.push(replicated.clone().and(outcome));
        }
        Some(applied)
    }
}

/// Sends `APPLY_AND_READ` for each of `items` on `connection`, by its SHA1, then by its text
/// for those the server did not know it for (the first writes after it restarted), which
/// loads it; with `replication`, the last `WAIT` counts for every write before it.
async fn write(
    mut connection: MultiplexedConnection,
    items: &[ApplyArgs],
    replication: Option<Replication>,
) -> Result<Replies, BackendError> {
    let lost = |e| BackendError::new("writing through the local cache's connection", e);
    let mut pipeline = redis::pipe();
    for (key, args) in items {
        pipeline.add_command(invocation(&APPLY_AND_READ, &[key], args, true));
    }
    let (mut results, mut replicas) = each_replied(&mut connection, pipeline, replication)
        .await
        .map_err(lost)?;
    if let Some(demoted) = results
        .iter()
        .find_map(|result| result.as_ref().err().filter(|e| is_redirected(e)))
    {
        // A replica now (a failover), or on a Cluster a slot that moved or is moving: the
        // writes go to the master another way.
        return Err(lost(demoted.clone()));
    }
    let unknown: Vec<usize> = (0..results.len())
        .filter(|&n| results[n].as_ref().is_err_and(is_noscript))
        .collect();
    if unknown.is_empty() {
        return Ok((results, replicas));
    }
    let mut again = redis::pipe();
    for &n in &unknown {
        let (key, args) = &items[n];
        again.add_command(invocation(&APPLY_AND_READ, &[key], args, false));
    }
    let (retried, retried_replicas) = each_replied(&mut connection, again, replication)
        .await
        .map_err(lost)?;
    for (n, result) in unknown.into_iter().zip(retried) {
        results[n] = result;
    }
    replicas = retried_replicas.or(replicas);
    Ok((results, replicas))
}

/// What `APPLY_AND_READ` answered: the record after the write and its TTL, or `None` when
/// there was no record to change.
fn written_record(reply: RedisValue) -> Result<Option<(Record, Duration)>, BackendError> {
    if matches!(reply, RedisValue::Int(0)) {
        return Ok(None);
    }
    let (_, ttl, fields): (i64, i64, HashFields) = redis::from_redis_value(reply)
        .map_err(|e| BackendError::new(APPLYING, RedisError::from(e)))?;
    let ttl = Duration::from_millis(u64::try_from(ttl).unwrap_or(0));
    Ok(Some((parse_record(fields)?, ttl)))
}
