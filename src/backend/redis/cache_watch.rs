//! The local cache's tracking connection, kept by a task of its own: it connects, turns
//! `CLIENT TRACKING` on, applies the invalidations Redis pushes, and proves the connection
//! alive with a `PING` every [`PING_INTERVAL`]. Redis answers a `PING` after every push it sent
//! before it, so an answered `PING` means every write Redis ran before it was sent has reached
//! the cache. Each answer extends the cache's trust to the `PING`'s send time plus
//! [`STALENESS_BOUND`]; when the trust runs out (a partition, an expired NAT entry: the socket
//! stays open, nothing comes through) the connection is given up, the cache flushed, and a
//! fresh connection tried, which the cache trusts once it has answered.

use std::sync::Weak;
use std::time::{Duration, Instant};

use deadpool_redis::redis::aio::{AsyncPushSender, SendError};
use deadpool_redis::redis::{self, AsyncConnectionConfig, PushInfo, PushKind, Value as RedisValue};

use super::cache_entries::{Shared, Tracking};
use crate::backend::error::BackendError;
use crate::telemetry;

/// The longest the cache serves what it holds after its connection went silent: a record
/// changed or deleted elsewhere is served at most this long after Redis ran the change.
pub(super) const STALENESS_BOUND: Duration = Duration::from_secs(1);

/// How often the connection is proven alive: a few times within [`STALENESS_BOUND`], so that a
/// slow answer does not end the cache's trust.
const PING_INTERVAL: Duration = Duration::from_millis(250);

/// Keeps the cache's tracking connection while the cache exists: connects (again after a
/// failure, every [`PING_INTERVAL`]), then proves it alive until it fails.
pub(super) async fn watch(shared: Weak<Shared>) {
    loop {
        match connect(&shared).await {
            Ok(Some(number)) => while prove_alive(&shared, number).await {},
            Ok(None) => return,
            Err(error) => {
                tracing::debug!(%error, "the local cache is not connected; loads read without it");
            }
        }
        tokio::time::sleep(PING_INTERVAL).await;
    }
}

/// Opens a tracking connection within [`STALENESS_BOUND`] and makes it the cache's, trusted
/// from when `CLIENT TRACKING ON` was sent; its number. `None` once the cache is gone.
async fn connect(shared: &Weak<Shared>) -> Result<Option<u64>, BackendError> {
    let Some(cache) = shared.upgrade() else {
        return Ok(None);
    };
    let number = {
        let mut entries = cache.lock();
        entries.generation += 1;
        entries.generation
    };
    let config = AsyncConnectionConfig::new()
        .set_connection_timeout(Some(STALENESS_BOUND))
        // Every request on it is bounded by the cache's trust instead.
        .set_response_timeout(None)
        .set_push_sender(Invalidations {
            shared: shared.clone(),
            number,
        });
    let attempt = async {
        let client = cache.connector.client().await?;
        let mut connection = client
            .get_multiplexed_async_connection_with_config(&config)
            .await
            .map_err(|e| BackendError::new("connecting the local cache to Redis", e))?;
        let sent = Instant::now();
        // NOLOOP: this process's own writes through it bring no invalidation (its saves put
        // what they wrote in the cache, see `cache_writes`).
        redis::cmd("CLIENT")
            .arg("TRACKING")
            .arg("ON")
            .arg("NOLOOP")
            .query_async::<()>(&mut connection)
            .await
            .map_err(|e| BackendError::new("turning on CLIENT TRACKING for the local cache", e))?;
        Ok((connection, sent))
    };
    let (connection, sent) = tokio::time::timeout(STALENESS_BOUND, attempt)
        .await
        .map_err(|_| {
            BackendError::msg(format!(
                "connecting the local cache to Redis: no answer within {} ms",
                STALENESS_BOUND.as_millis()
            ))
        })??;
    let mut entries = cache.lock();
    entries.flush();
    entries.tracking = Some(Tracking {
        connection,
        number,
        trusted_until: sent + STALENESS_BOUND,
    });
    Ok(Some(number))
}

/// After [`PING_INTERVAL`], sends a `PING` on connection `number` and extends the cache's trust
/// when it is answered before the trust runs out; otherwise gives the connection up (flushing
/// the cache). Whether the connection is still the cache's and trusted.
async fn prove_alive(shared: &Weak<Shared>, number: u64) -> bool {
    tokio::time::sleep(PING_INTERVAL).await;
    let Some(cache) = shared.upgrade() else {
        return false;
    };
    let (mut connection, trusted_until) = {
        let entries = cache.lock();
        match &entries.tracking {
            Some(tracking) if tracking.number == number => {
                (tracking.connection.clone(), tracking.trusted_until)
            }
            _ => return false,
        }
    };
    let sent = Instant::now();
    let ping = redis::cmd("PING");
    let answered = tokio::time::timeout_at(
        trusted_until.into(),
        ping.query_async::<()>(&mut connection),
    )
    .await;
    let mut entries = cache.lock();
    match (answered, &mut entries.tracking) {
        (Ok(Ok(())), Some(tracking)) if tracking.number == number => {
            tracking.trusted_until = tracking.trusted_until.max(sent + STALENESS_BOUND);
            true
        }
        (answered, _) => {
            if let Ok(Err(error)) = answered {
                tracing::debug!(%error, "the local cache's connection failed; flushing the cache");
            } else {
                tracing::debug!("the local cache's connection went silent; flushing the cache");
            }
            entries.lose(number);
            false
        }
    }
}

/// Applies the pushes of one tracking connection to the cache, as they arrive.
struct Invalidations {
    shared: Weak<Shared>,
    number: u64,
}

impl AsyncPushSender for Invalidations {
    fn send(&self, info: PushInfo) -> Result<(), SendError> {
        let Some(cache) = self.shared.upgrade() else {
            return Err(SendError);
        };
        let mut entries = cache.lock();
        match info.kind {
            PushKind::Invalidate => {
                telemetry::cache("invalidation");
                // One array of keys, or nil: everything (the server flushed its table).
                match info.data.into_iter().next() {
                    Some(RedisValue::Array(keys)) => {
                        for key in keys {
                            match redis::from_redis_value::<String>(key) {
                                Ok(key) => entries.forget(&key),
                                // Not a key this crate wrote: nothing cached is sure.
                                Err(_) => entries.flush(),
                            }
                        }
                    }
                    _ => entries.flush(),
                }
            }
            // Invalidations are lost from here on: nothing cached can be trusted.
            PushKind::Disconnection => entries.lose(self.number),
            _ => {}
        }
        Ok(())
    }
}
