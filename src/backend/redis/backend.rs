//! [`RedisBackend`]: session records in Redis, one hash per session, through a deadpool-redis
//! pool (a single server, a Redis Cluster, or the master Redis Sentinel names).

use std::fmt;
use std::sync::Arc;

use deadpool_redis::redis;
use time::{Duration, OffsetDateTime};

use super::cache::LocalCache;
use super::cache_server::{CacheServer, CacheTarget, Connector};
use super::cluster_cache::MasterCaches;
use super::cluster_nodes::ClusterNodes;
use super::connection::{Pool, Replication, SharedConnection};
use super::fields::{
    change_args, create_args, delete_args, parse_record, record_fields, ttl_millis,
};
use super::scripts::{APPLY, CREATE, DELETE, FILL, LIST_USER, MOVE, REVOKE_USER, TAKE};
use crate::backend::batching::{ApplyItem, BatchLimits, Batching};
use crate::backend::changes::Changes;
use crate::backend::error::BackendError;
use crate::backend::session_backend::{Record, Regenerated, SessionBackend};
use crate::backend::timeout::positive_std;
use crate::backend::user_index::{latest_first, UserIndex, UserSession};
use crate::id::SessionId;

/// The key prefix used unless [`RedisBackend::key_prefix`] sets another.
const DEFAULT_PREFIX: &str = "session:";

/// How many pipelines of loads (and of saves) may be in flight at once.
const PIPELINES_IN_FLIGHT: usize = 4;

/// What follows the key prefix in the keys of the user indexes.
const USER_INDEX: &str = "user:";

/// Why a Cluster has no user indexes.
const NO_INDEX_ON_CLUSTER: &str = "on a Redis Cluster, whose hash slots keep one user's \
     sessions apart so that no script can change them all at once; use a single Redis primary \
     (or Sentinel) or an SQL backend for this";

/// Session records in Redis, through a [deadpool-redis](deadpool_redis) pool.
///
/// Each session is one Redis hash under `{prefix}{id}` (the prefix defaults to `"session:"`):
/// every session key is a field `d:<key>` holding the value's JSON text, and a field `m` holds
/// the time the record was written under this key (Unix seconds: created, or moved here by a
/// [`MigratingBackend`](crate::backend::MigratingBackend)), so that an empty session still exists. Redis
/// expires the hash itself after the record's TTL: it needs no
/// [`DeleteExpired`](crate::backend::DeleteExpired).
///
/// Every operation is one round trip; creating, changing, deleting and moving a record to a new
/// id run as Lua scripts, atomically. Requests share one multiplexed connection taken
/// from the pool (commands of concurrent requests are pipelined on it); when it breaks, the
/// next request takes a new one from the pool.
///
/// On a single server (or a Sentinel's primary), a session tied to a user with
/// [`Session::set_user_id`](crate::Session::set_user_id) is also a member of a sorted set under
/// `{prefix}user:{user id}`, scored by the record's expiry time, which the scripts keep up to
/// date (a deleted, moved or cleared record leaves it in the same script; an expired one at the
/// user's next write) and which expires with the last of its sessions:
/// [`user_sessions`](UserIndex::user_sessions) and
/// [`revoke_user_sessions`](UserIndex::revoke_user_sessions) read it, in one script each,
/// whose work is one step per live session of the user (plus the expired ones they drop, each
/// once).
/// On a Redis Cluster every operation touches exactly one key, so that no command spans hash
/// slots (see [`RedisBackend::cluster`]), and there is no user index.
///
/// Registered, it is [`Batched`](crate::backend::Batched) (see
/// [`with_batch_limits`](Self::with_batch_limits)) and keeps its [`UserIndex`].
///
/// Needs the cargo feature `redis`. For TLS, enable `redis-tls-rustls` (rustls, with the
/// system's root certificates) or `redis-tls-native-tls` (OpenSSL on Linux) and use a
/// `rediss://` URL; to trust a private CA, build the pool from
/// `redis::Client::build_with_tls(url, TlsCertificates { root_cert: Some(pem), .. })`'s
/// connection info with `deadpool_redis::Manager::new`.
///
/// ```
/// use axum_session_store::backend::RedisBackend;
/// use axum_session_store::SessionConfig;
/// use axum_session_store::deadpool_redis::{Config, Runtime};
///
/// // Making the pool does not connect yet: the first request does.
/// let pool = Config::from_url("redis://127.0.0.1:6379").create_pool(Some(Runtime::Tokio1))?;
/// # let secret = "an example secret, at least 32 bytes long";
/// let config = SessionConfig::builder()
///     .secret_key(secret)
///     .default_backend(RedisBackend::new(pool).key_prefix("myapp:session:"))
///     .build()?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
#[doc(alias = "RedisStore")]
pub struct RedisBackend {
    pub(super) connection: SharedConnection,
    pub(super) prefix: String,
    /// `{prefix}user:` on a single server; empty (no user index) on a Cluster.
    pub(super) index_prefix: String,
    /// How loads and saves are queued.
    limits: BatchLimits,
    /// Records kept in this process, when asked for (a single server, or behind Sentinel).
    pub(super) cache: Option<Arc<LocalCache>>,
    /// The same on a Cluster: one cache per master.
    pub(super) master_caches: Option<Arc<MasterCaches>>,
}

impl RedisBackend {
    /// A backend on a single Redis server (or a primary behind a proxy), through `pool`.
    ///
    /// ```
    /// use axum_session_store::backend::RedisBackend;
    /// use axum_session_store::deadpool_redis::{Config, Runtime};
    ///
    /// let pool = Config::from_url("redis://127.0.0.1:6379").create_pool(Some(Runtime::Tokio1))?;
    /// let backend = RedisBackend::new(pool);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new(pool: deadpool_redis::Pool) -> Self {
        Self::on(Pool::Single(pool))
    }

    /// A backend on the Redis Cluster that `config` (deadpool-redis' `cluster` config) reaches,
    /// through a pool made from it.
    ///
    /// Every operation touches exactly one key, so no command ever spans hash slots. A batch
    /// of loads or saves (concurrent requests, see
    /// [`with_batch_limits`](Self::with_batch_limits)) goes to each master as one pipeline, on
    /// a connection of the backend's own opened with `config`'s settings (credentials,
    /// database, TLS); a command a master refuses because its slot moved or is moving goes
    /// again on its own, through the pool, which follows the redirection. A move to a new id
    /// ([`regenerate`](SessionBackend::regenerate)) is three single-key scripts. A user's
    /// sessions cannot be listed or revoked: those calls answer
    /// [`BackendError::is_unsupported`].
    ///
    /// # Errors
    /// `config` gives no node, both `urls` and `connections`, or a URL that is not valid.
    ///
    /// ```
    /// use axum_session_store::backend::RedisBackend;
    /// use axum_session_store::deadpool_redis::cluster::Config;
    ///
    /// let urls = vec!["redis://10.0.0.1:6379".to_owned(), "redis://10.0.0.2:6379".to_owned()];
    /// // Making the pool does not connect yet: the first request does.
    /// let backend = RedisBackend::cluster(&Config::from_urls(urls))?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn cluster(config: &deadpool_redis::cluster::Config) -> Result<Self, BackendError> {
        let nodes = ClusterNodes::from_config(config)?;
        let pool = config
            .create_pool(Some(deadpool_redis::Runtime::Tokio1))
            .map_err(|e| BackendError::new("the Redis Cluster config is not valid", e))?;
        Ok(Self::on(Pool::Cluster(pool, Arc::new(nodes))))
    }

    /// A backend on the master that Redis Sentinel names, through `pool` (deadpool-redis'
    /// `sentinel` pool): every new connection asks the sentinels where the master is, so after a
    /// failover the next request reaches the promoted replica. Requests that ran against the
    /// old master fail (500) until then; see [`wait_for_replicas`](Self::wait_for_replicas)
    /// for what a failover can lose.
    ///
    /// ```
    /// use axum_session_store::backend::RedisBackend;
    /// use axum_session_store::deadpool_redis::sentinel::{Config, SentinelServerType};
    /// use axum_session_store::deadpool_redis::Runtime;
    ///
    /// let sentinels = vec!["redis://10.0.0.1:26379".to_owned(), "redis://10.0.0.2:26379".to_owned()];
    /// let pool = Config::from_urls(sentinels, "mymaster".to_owned(), SentinelServerType::Master)
    ///     .create_pool(Some(Runtime::Tokio1))?;
    /// let backend = RedisBackend::sentinel(pool);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn sentinel(pool: deadpool_redis::sentinel::Pool) -> Self {
        Self::on(Pool::Sentinel(pool))
    }

    /// Bounds every operation (connecting included) to `timeout`, 5 seconds unless set: past
    /// it the request fails with `503 Service Unavailable` (the error's
    /// [`is_timeout`](crate::BackendError::is_timeout)) rather than wait. A cluster client retries a node that is
    /// down for long; this is what keeps a request from waiting with it. A timeout of zero or
    /// less is taken as 1 ms.
    ///
    /// ```
    /// use axum_session_store::backend::RedisBackend;
    /// use axum_session_store::deadpool_redis::{Config, Runtime};
    ///
    /// let pool = Config::from_url("redis://127.0.0.1:6379").create_pool(Some(Runtime::Tokio1))?;
    /// let backend = RedisBackend::new(pool).timeout(time::Duration::seconds(2));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.connection.timeout = positive_std(timeout);
        self
    }

    /// Acknowledges a write only once `replicas` replicas have it, waiting at most `timeout`
    /// for them (Redis' `WAIT`, in the same round trip as the write on a single server or
    /// Sentinel; a second command on a Cluster).
    ///
    /// Redis replicates asynchronously: without this, a write answered 200 can be lost when
    /// the master dies before a replica has it and the replica is promoted. With it, a save
    /// that the replicas did not confirm in time fails (500), so every acknowledged save is on
    /// `replicas` replicas, in their memory, when it is answered; a failover that promotes one
    /// of them keeps it (Sentinel and Cluster promote the most up-to-date replica). It does not
    /// make Redis durable against losing every node at once (that is `appendfsync`), and a
    /// failed save may still have been applied on the master.
    ///
    /// ```
    /// use axum_session_store::backend::RedisBackend;
    /// use axum_session_store::deadpool_redis::{Config, Runtime};
    ///
    /// let pool = Config::from_url("redis://127.0.0.1:6379").create_pool(Some(Runtime::Tokio1))?;
    /// let backend = RedisBackend::new(pool).wait_for_replicas(1, time::Duration::milliseconds(500));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn wait_for_replicas(mut self, replicas: usize, timeout: Duration) -> Self {
        self.connection.replication = (replicas > 0).then(|| Replication {
            replicas,
            timeout: positive_std(timeout),
        });
        self
    }

    fn on(pool: Pool) -> Self {
        let backend = Self {
            connection: SharedConnection::new(pool),
            prefix: String::new(),
            index_prefix: String::new(),
            limits: BatchLimits::default().max_in_flight(PIPELINES_IN_FLIGHT),
            cache: None,
            master_caches: None,
        };
        backend.key_prefix(DEFAULT_PREFIX)
    }

    /// Puts the records under keys `{prefix}{id}` (and user indexes under
    /// `{prefix}user:{user id}`) instead of `session:…`: to share a Redis database between
    /// applications, or keep two configs' sessions apart.
    ///
    /// ```
    /// use axum_session_store::backend::RedisBackend;
    /// use axum_session_store::deadpool_redis::{Config, Runtime};
    ///
    /// let pool = Config::from_url("redis://127.0.0.1:6379").create_pool(Some(Runtime::Tokio1))?;
    /// let backend = RedisBackend::new(pool).key_prefix("shop:session:");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn key_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self.index_prefix = if self.connection.pool.is_single_node() {
            format!("{}{USER_INDEX}", self.prefix)
        } else {
            String::new()
        };
        self
    }

    /// Queues loads and saves within `limits`: 64 to a pipeline and four pipelines in
    /// flight unless set. While four pipelines of loads (or of saves) are in flight, the loads
    /// (saves) that other requests start meanwhile wait, then go out together as one pipeline
    /// when one is done, each request getting its own result; with
    /// [`wait_for_replicas`](Self::wait_for_replicas), one `WAIT` confirms the whole batch. On
    /// a Cluster a batch goes to each master as one pipeline (one `WAIT` each), all at once.
    ///
    /// ```
    /// use axum_session_store::backend::{BatchLimits, Batching, RedisBackend};
    /// use axum_session_store::deadpool_redis::{Config, Runtime};
    ///
    /// let pool = Config::from_url("redis://127.0.0.1:6379").create_pool(Some(Runtime::Tokio1))?;
    /// let backend = RedisBackend::new(pool)
    ///     .with_batch_limits(BatchLimits::default().max_batch(16).max_in_flight(4));
    /// assert_eq!(backend.batch_limits().batch(), 16);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn with_batch_limits(mut self, limits: BatchLimits) -> Self {
        self.limits = limits;
        self
    }

    /// Keeps up to `max_entries` records in this process and serves loads from them, kept
    /// coherent by Redis' server-assisted invalidation: a cache of its own connection to
    /// `server` (see [`CacheServer`]: the URL of the pool's server, or behind Sentinel the
    /// `deadpool_redis::sentinel::Config` of the pool, whose master it connects to, asking the
    /// sentinels again after every disconnection; RESP3 is turned on) runs `CLIENT TRACKING ON`,
    /// reads every record it caches (with its TTL), and Redis tells it, on that connection,
    /// when any record it read changes, expires or is deleted, by any client; the entry goes
    /// then. Opt-in: a cached load costs no round trip, which is what reads on a busy server
    /// cost most. Saves that change a session go through that connection too (with
    /// `CLIENT TRACKING ... NOLOOP`, so they bring it no invalidation) and read the record back
    /// in the same script: the entry then holds what Redis holds after the save, so a request
    /// that reads its session and changes it costs one round trip.
    ///
    /// What it promises: an entry never outlives its record's TTL; this process's own writes
    /// update or drop their entries before they are acknowledged (a request sees what an
    /// earlier request of this process saved), and a save's entry is kept only if nothing else
    /// touched the record while it was in flight (another process's change, whose invalidation
    /// came first, always wins); a change made by another process (a logout on another server)
    /// is served stale only until its invalidation arrives and is handled, one network hop
    /// after Redis ran the change (BENCHMARKS.md measures the window; a busy process handles
    /// it later, so a client's next request, sent to this server right after another server
    /// saved its session, may still read the session as it was: route a session's requests to
    /// one server where that matters), never once it has been handled, and never
    /// more than 1 second after Redis ran it, even when the cache's connection went silent (a
    /// partition, an expired NAT entry) with nothing to say so: the cache sends a `PING` on it
    /// every 250 ms, serves entries only until 1 s after the last `PING` that was answered was
    /// sent (Redis answers it after every invalidation it sent before), and past that flushes,
    /// gives the connection up, and trusts a new one only once it has answered. When the
    /// connection drops, or a read through it fails, the cache is flushed likewise. Until a
    /// connection is trusted (at start, after a failure) loads go to Redis directly, without
    /// waiting for it; a miss or a save sent just as the connection goes silent waits at most
    /// until the trust runs out (1 s), then goes to Redis through the pool (a save sent again
    /// that way applies the same changes, which leaves the same record). A read that overlaps any invalidation is not
    /// cached. When `max_entries` are cached, an arbitrary entry makes room for the next; 0
    /// caches nothing.
    ///
    /// Behind Sentinel, a failover ends the cache's connection (the old master dies, or the
    /// sentinels disconnect its clients as they make it a replica): the cache is flushed, and
    /// its next connection goes to the master the sentinels name then. A save refused by a
    /// server that is no longer master (`READONLY`) gives the connection up the same way.
    ///
    /// On a Cluster (give the `deadpool_redis::cluster::Config` the backend was made from),
    /// each master has a cache of its own, with its own connection, holding at most
    /// `max_entries` of the keys of its slots, under the same rules. A slot that moves away
    /// takes its entries with it (the move deletes its keys on the old master, which
    /// invalidates them), and a master that fails flushes its cache as its connection ends; a
    /// read or save that a master refuses as moved goes to Redis through the pool.
    ///
    /// # Errors
    /// `server` is not a valid Redis URL or Sentinel config, or it does not match the backend
    /// (a URL behind Sentinel, where the master changes, or on a Cluster; a Sentinel or
    /// Cluster config for a single server).
    ///
    /// ```
    /// use axum_session_store::backend::RedisBackend;
    /// use axum_session_store::deadpool_redis::{Config, Runtime};
    ///
    /// let url = "redis://127.0.0.1:6379";
    /// let pool = Config::from_url(url).create_pool(Some(Runtime::Tokio1))?;
    /// let backend = RedisBackend::new(pool).local_cache(url, 100_000)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn local_cache(
        mut self,
        server: impl CacheServer,
        max_entries: usize,
    ) -> Result<Self, BackendError> {
        let connector = match (&self.connection.pool, server.target()?) {
            (Pool::Single(_), CacheTarget::One(connector @ Connector::Server(_)))
            | (Pool::Sentinel(_), CacheTarget::One(connector @ Connector::Sentinel(_))) => {
                connector
            }
            (Pool::Single(_), CacheTarget::One(Connector::Sentinel(_))) => {
                return Err(BackendError::unsupported(
                    "a local cache through Sentinel for a backend on a single server (give \
                     the server's URL, or build the backend with RedisBackend::sentinel)",
                ))
            }
            (Pool::Sentinel(_), CacheTarget::One(Connector::Server(_))) => {
                return Err(BackendError::unsupported(
                    "a local cache of one server's URL behind Sentinel, where the master \
                     changes (give the deadpool_redis::sentinel::Config the pool was made from)",
                ))
            }
            (Pool::Cluster(_, nodes), CacheTarget::EachMaster) => {
                let caches = MasterCaches::new(nodes.settings().clone(), max_entries);
                self.master_caches = Some(Arc::new(caches));
                return Ok(self);
            }
            (Pool::Cluster(..), CacheTarget::One(_)) => {
                return Err(BackendError::unsupported(
                    "a local cache of one server on a Redis Cluster (give the \
                     deadpool_redis::cluster::Config the backend was made from)",
                ))
            }
            (Pool::Single(_) | Pool::Sentinel(_), CacheTarget::EachMaster) => {
                return Err(BackendError::unsupported(
                    "a local cache for a Cluster on a backend that is not on one (give the \
                     server's URL, or the deadpool_redis::sentinel::Config)",
                ))
            }
        };
        self.cache = Some(Arc::new(LocalCache::new(connector, max_entries)));
        Ok(self)
    }

    /// [`SessionBackend::regenerate`] of the key `old` to `new`, `args` being the changes.
    async fn move_record(
        &self,
        old: &str,
        new: &str,
        args: &[Vec<u8>],
        ttl: Duration,
    ) -> Result<Regenerated, BackendError> {
        if self.connection.pool.is_single_node() {
            let moved: u8 = self
                .connection
                .eval(
                    &MOVE,
                    &[old, new],
                    args,
                    "moving the session record in Redis",
                )
                .await?;
            return Ok(match moved {
                0 => Regenerated::Gone,
                2 => Regenerated::Taken,
                _ => Regenerated::Moved,
            });
        }
        let reservation = create_args(ttl, "", std::iter::empty());
        let reserved: bool = self
            .connection
            .eval(
                &CREATE,
                &[new],
                &reservation,
                "reserving the new key of the session record in Redis",
            )
            .await?;
        if !reserved {
            return Ok(Regenerated::Taken);
        }
        let taken: Option<Vec<Vec<u8>>> = self
            .connection
            .eval(
                &TAKE,
                &[old],
                args,
                "taking the session record out of its old key in Redis",
            )
            .await?;
        let Some(fields) = taken else {
            let mut delete = redis::cmd("DEL");
            delete.arg(new);
            self.connection
                .write::<()>(&delete, "removing the reserved key in Redis")
                .await?;
            return Ok(Regenerated::Gone);
        };
        // The marker comes along with the fields and replaces the reservation's: the
        // record keeps its creation time.
        let mut fill = Vec::with_capacity(2 + fields.len());
        fill.push(ttl_millis(ttl).to_string().into_bytes());
        fill.push(Vec::new());
        fill.extend(fields);
        self.connection
            .eval::<i64>(
                &FILL,
                &[new],
                &fill,
                "filling the session record under its new key in Redis",
            )
            .await?;
        Ok(Regenerated::Moved)
    }

    /// The record `id`, read with one `HGETALL`, without the cache.
    pub(super) async fn load_one(&self, id: &SessionId) -> Result<Option<Record>, BackendError> {
        let mut cmd = redis::cmd("HGETALL");
        cmd.arg(self.key(id));
        let fields: Vec<(Vec<u8>, Vec<u8>)> = self
            .connection
            .query(&cmd, "loading the session record from Redis")
            .await?;
        if fields.is_empty() {
            // The marker field makes every record a non-empty hash.
            return Ok(None);
        }
        parse_record(fields).map(Some)
    }

    /// Drops the cached `keys` once this process wrote them.
    pub(super) fn written(&self, keys: &[&str]) {
        if let Some(cache) = &self.cache {
            for key in keys {
                cache.forget(key);
            }
        }
        if let Some(caches) = &self.master_caches {
            for key in keys {
                caches.forget(key);
            }
        }
    }

    /// Whether it talks to one server (directly or through Sentinel), not a Cluster.
    pub(super) fn is_single_node(&self) -> bool {
        self.connection.pool.is_single_node()
    }

    pub(super) fn key(&self, id: &SessionId) -> String {
        format!("{}{}", self.prefix, id.as_str())
    }

    /// The key of `user_id`'s index, or the error that says a Cluster has none.
    fn index_key(&self, user_id: &str, operation: &str) -> Result<String, BackendError> {
        if self.index_prefix.is_empty() {
            return Err(BackendError::unsupported(&format!(
                "{operation} {NO_INDEX_ON_CLUSTER}"
            )));
        }
        Ok(format!("{}{user_id}", self.index_prefix))
    }
}

impl fmt::Debug for RedisBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Neither the pool nor its manager: their connection info may hold a password.
        let (kind, status) = match &self.connection.pool {
            Pool::Single(pool) => ("single", pool.status()),
            Pool::Cluster(pool, _) => ("cluster", pool.status()),
            Pool::Sentinel(pool) => ("sentinel", pool.status()),
        };
        f.debug_struct("RedisBackend")
            .field("kind", &kind)
            .field("key_prefix", &self.prefix)
            .field("pool_size", &status.size)
            .field("pool_max_size", &status.max_size)
            .finish()
    }
}

impl SessionBackend for RedisBackend {
    async fn load(&self, id: &SessionId) -> Result<Option<Record>, BackendError> {
        if self.cache.is_some() || self.master_caches.is_some() {
            // The batch load knows the cache: one path for both.
            return self
                .load_batch(std::slice::from_ref(id))
                .await
                .pop()
                .unwrap_or_else(|| {
                    Err(BackendError::msg(
                        "loading the session record from Redis: no reply",
                    ))
                });
        }
        self.load_one(id).await
    }

    async fn create(
        &self,
        id: &SessionId,
        record: &Record,
        ttl: Duration,
    ) -> Result<bool, BackendError> {
        let fields = record_fields(record)?;
        let args = create_args(ttl, &self.index_prefix, fields.into_iter());
        self.connection
            .eval(
                &CREATE,
                &[&self.key(id)],
                &args,
                "creating the session record in Redis",
            )
            .await
    }

    async fn apply(
        &self,
        id: &SessionId,
        changes: &Changes,
        ttl: Duration,
    ) -> Result<bool, BackendError> {
        let item = [(self.key(id), change_args(changes, ttl, &self.index_prefix)?)];
        if let Some(cache) = &self.cache {
            if let Some(mut applied) = cache
                .apply(&item, self.connection.timeout, self.connection.replication)
                .await
            {
                return applied.pop().unwrap_or_else(|| {
                    Err(BackendError::msg(
                        "applying changes to the session record in Redis: no reply",
                    ))
                });
            }
        }
        if let (Some(caches), Some(nodes)) =
            (&self.master_caches, self.connection.pool.cluster_nodes())
        {
            let cached = self.apply_cached(nodes, caches, &item).await;
            if let Some(Some(applied)) = cached.into_iter().next() {
                return applied;
            }
        }
        // Without the cache, or when its connection failed: through the pool.
        let [(key, args)] = &item;
        let applied = self
            .connection
            .eval(
                &APPLY,
                &[key],
                args,
                "applying changes to the session record in Redis",
            )
            .await;
        self.written(&[key]);
        applied
    }

    /// On a single server (or Sentinel's master), one script moves the record, atomically: a
    /// change to `old` that comes after it finds no record, and a deleted `old` is never moved.
    ///
    /// On a Cluster, where the two keys live in different slots, three scripts, each on one
    /// key: the first reserves `new` (an empty record; `Taken` if it exists, and nothing has
    /// changed); the second takes the record out of `old` with the changes applied and deletes
    /// it, atomically, with the same guarantees (`Gone`, and the reservation is removed, if it
    /// was not there); the third fills `new` with what it took. If the third fails (the
    /// connection drops), the session is lost and the request fails: a user is logged out, and
    /// no deleted session ever comes back.
    async fn regenerate(
        &self,
        old: &SessionId,
        new: &SessionId,
        changes: &Changes,
        ttl: Duration,
    ) -> Result<Regenerated, BackendError> {
        let args = change_args(changes, ttl, &self.index_prefix)?;
        let (old, new) = (self.key(old), self.key(new));
        let moved = self.move_record(&old, &new, &args, ttl).await;
        self.written(&[&old, &new]);
        moved
    }

    async fn delete(&self, id: &SessionId) -> Result<(), BackendError> {
        let key = self.key(id);
        let deleted = self
            .connection
            .eval::<()>(
                &DELETE,
                &[&key],
                &delete_args(&self.index_prefix),
                "deleting the session record from Redis",
            )
            .await;
        self.written(&[&key]);
        deleted
    }
}

/// Commands pipeline on the shared connection: a few batches in flight keep it busy. On a
/// Cluster a batch goes to each master as one pipeline.
impl Batching for RedisBackend {
    async fn load_many(&self, ids: &[SessionId]) -> Vec<Result<Option<Record>, BackendError>> {
        self.load_batch(ids).await
    }

    async fn apply_many(&self, items: &[ApplyItem]) -> Vec<Result<bool, BackendError>> {
        self.apply_batch(items).await
    }

    fn batch_limits(&self) -> BatchLimits {
        self.limits
    }
}

/// On a Redis Cluster, both answer [`BackendError::is_unsupported`]: one user's sessions live
/// in many slots, and no script can change them all at once.
impl UserIndex for RedisBackend {
    async fn user_sessions(
        &self,
        user_id: &str,
        limit: usize,
    ) -> Result<Vec<UserSession>, BackendError> {
        let index = self.index_key(user_id, "listing a user's sessions")?;
        let listed: Vec<String> = self
            .connection
            .eval_read(
                &LIST_USER,
                &[&index],
                &[user_id.as_bytes().to_vec(), limit.to_string().into_bytes()],
                "listing a user's sessions in Redis",
            )
            .await?;
        let mut sessions: Vec<UserSession> = listed
            .chunks_exact(3)
            .filter_map(|listed| {
                let id = SessionId::parse(listed[0].strip_prefix(&self.prefix)?)?;
                let expires_ms: f64 = listed[1].parse().ok()?;
                // Whole milliseconds: the cast saturates, and any expiry is in range.
                let nanos = i128::from(expires_ms as i64) * 1_000_000;
                let expires_at = OffsetDateTime::from_unix_timestamp_nanos(nanos).ok()?;
                let metadata = serde_json::from_str(&listed[2]).ok();
                Some(UserSession::new(id, expires_at, metadata))
            })
            .collect();
        latest_first(&mut sessions, limit);
        Ok(sessions)
    }

    async fn revoke_user_sessions(
        &self,
        user_id: &str,
        except: Option<&SessionId>,
    ) -> Result<u64, BackendError> {
        let index = self.index_key(user_id, "revoking a user's sessions")?;
        let keep = except.map(|id| self.key(id)).unwrap_or_default();
        let revoked = self
            .connection
            .eval(
                &REVOKE_USER,
                &[&index],
                &[user_id.as_bytes().to_vec(), keep.into_bytes()],
                "revoking a user's sessions in Redis",
            )
            .await;
        // Which records went is not known here: none of the cache is trusted.
        if let Some(cache) = &self.cache {
            cache.flush();
        }
        revoked
    }
}
