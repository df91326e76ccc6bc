//! [`RedisBackend`]: session records in Redis, one hash per session, through a deadpool-redis
//! pool (a single server or a Redis Cluster).

use std::fmt;

use deadpool_redis::redis;
use time::Duration;

use super::connection::{Pool, SharedConnection};
use super::fields::{change_args, now_marker, parse_record, push_field, ttl_millis};
use super::scripts::{APPLY, CREATE, TAKE};
use crate::backend::changes::Changes;
use crate::backend::error::BackendError;
use crate::backend::session_backend::{BoxFuture, Record, Regenerated, SessionBackend};
use crate::id::SessionId;

/// The key prefix used unless [`RedisBackend::key_prefix`] sets another.
const DEFAULT_PREFIX: &str = "session:";

/// Session records in Redis, through a [deadpool-redis](deadpool_redis) pool.
///
/// Each session is one Redis hash under `{prefix}{id}` (the prefix defaults to `"session:"`):
/// every session key is a field `d:<key>` holding the value's JSON text, and a field `m` holds
/// the record's creation time (Unix seconds), so that an empty session still exists. Redis
/// expires the hash itself after the record's TTL, so
/// [`delete_expired`](SessionBackend::delete_expired) has nothing to do.
///
/// Every operation is one round trip and touches exactly one key; creating a record and
/// applying changes run as Lua scripts, atomically. Requests share one multiplexed connection
/// taken from the pool (commands of concurrent requests are pipelined on it); when it breaks,
/// the next request takes a new one from the pool. That makes the backend safe for Redis
/// Cluster too: see [`RedisBackend::cluster`].
///
/// Needs the cargo feature `redis`.
///
/// ```
/// use axum_session_store::{RedisBackend, SessionConfig};
/// use deadpool_redis::{Config, Runtime};
///
/// // Making the pool does not connect yet: the first request does.
/// let pool = Config::from_url("redis://127.0.0.1:6379").create_pool(Some(Runtime::Tokio1))?;
/// # let secret = "an example secret, at least 32 bytes long";
/// let config = SessionConfig::builder()
///     .secret_key(secret)
///     .backend("redis", RedisBackend::new(pool).key_prefix("myapp:session:"))
///     .default_backend("redis")
///     .build()?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct RedisBackend {
    connection: SharedConnection,
    prefix: String,
}

impl RedisBackend {
    /// A backend on a single Redis server (or a primary behind a proxy), through `pool`.
    ///
    /// ```
    /// use axum_session_store::RedisBackend;
    /// use deadpool_redis::{Config, Runtime};
    ///
    /// let pool = Config::from_url("redis://127.0.0.1:6379").create_pool(Some(Runtime::Tokio1))?;
    /// let backend = RedisBackend::new(pool);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new(pool: deadpool_redis::Pool) -> Self {
        Self {
            connection: SharedConnection::new(Pool::Single(pool)),
            prefix: DEFAULT_PREFIX.to_owned(),
        }
    }

    /// A backend on a Redis Cluster, through `pool`.
    ///
    /// Every operation touches exactly one key, so no command ever spans hash slots.
    ///
    /// ```
    /// use axum_session_store::RedisBackend;
    /// use deadpool_redis::cluster::Config;
    /// use deadpool_redis::Runtime;
    ///
    /// let urls = vec!["redis://10.0.0.1:6379".to_owned(), "redis://10.0.0.2:6379".to_owned()];
    /// let pool = Config::from_urls(urls).create_pool(Some(Runtime::Tokio1))?;
    /// let backend = RedisBackend::cluster(pool);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn cluster(pool: deadpool_redis::cluster::Pool) -> Self {
        Self {
            connection: SharedConnection::new(Pool::Cluster(pool)),
            prefix: DEFAULT_PREFIX.to_owned(),
        }
    }

    /// Puts the records under keys `{prefix}{id}` instead of `session:{id}`: to share a Redis
    /// database between applications, or keep two configs' sessions apart.
    ///
    /// ```
    /// use axum_session_store::RedisBackend;
    /// use deadpool_redis::{Config, Runtime};
    ///
    /// let pool = Config::from_url("redis://127.0.0.1:6379").create_pool(Some(Runtime::Tokio1))?;
    /// let backend = RedisBackend::new(pool).key_prefix("shop:session:");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn key_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    fn key(&self, id: &SessionId) -> String {
        format!("{}{}", self.prefix, id.as_str())
    }
}

impl fmt::Debug for RedisBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Neither the pool nor its manager: their connection info may hold a password.
        let (kind, status) = match &self.connection.pool {
            Pool::Single(pool) => ("single", pool.status()),
            Pool::Cluster(pool) => ("cluster", pool.status()),
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
    fn load<'a>(
        &'a self,
        id: &'a SessionId,
    ) -> BoxFuture<'a, Result<Option<Record>, BackendError>> {
        Box::pin(async move {
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
        })
    }

    fn create<'a>(
        &'a self,
        id: &'a SessionId,
        record: &'a Record,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<bool, BackendError>> {
        Box::pin(async move {
            let mut args = Vec::with_capacity(2 + 2 * record.len());
            args.push(ttl_millis(ttl).to_string().into_bytes());
            args.push(now_marker());
            for (key, value) in record {
                push_field(&mut args, key, value)?;
            }
            self.connection
                .eval(
                    &CREATE,
                    &self.key(id),
                    &args,
                    "creating the session record in Redis",
                )
                .await
        })
    }

    fn apply<'a>(
        &'a self,
        id: &'a SessionId,
        changes: &'a Changes,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<bool, BackendError>> {
        Box::pin(async move {
            self.connection
                .eval(
                    &APPLY,
                    &self.key(id),
                    &change_args(changes, ttl)?,
                    "applying changes to the session record in Redis",
                )
                .await
        })
    }

    /// Two scripts, each on one key (so it works on a Cluster, where the two keys live in
    /// different slots): the first takes the record out of `old` with the changes applied and
    /// deletes it, atomically, so a later change to `old` finds no record and a deleted `old`
    /// is never moved; the second creates `new` from what it took. If the second fails (the
    /// connection drops), the session is lost and the request fails: a user is logged out, and
    /// no deleted session ever comes back.
    fn regenerate<'a>(
        &'a self,
        old: &'a SessionId,
        new: &'a SessionId,
        changes: &'a Changes,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<Regenerated, BackendError>> {
        Box::pin(async move {
            let taken: Option<Vec<Vec<u8>>> = self
                .connection
                .eval(
                    &TAKE,
                    &self.key(old),
                    &change_args(changes, ttl)?,
                    "taking the session record out of its old key in Redis",
                )
                .await?;
            let Some(fields) = taken else {
                return Ok(Regenerated::Gone);
            };
            // The marker comes along with the fields and replaces this one: the record keeps
            // its creation time.
            let mut args = Vec::with_capacity(2 + fields.len());
            args.push(ttl_millis(ttl).to_string().into_bytes());
            args.push(now_marker());
            args.extend(fields);
            let created: bool = self
                .connection
                .eval(
                    &CREATE,
                    &self.key(new),
                    &args,
                    "creating the session record under its new key in Redis",
                )
                .await?;
            if !created {
                return Err(BackendError::msg(
                    "Redis: the fresh session id was taken after the record left its old key \
                     (an id collision, which a working random generator never makes); the \
                     session is lost",
                ));
            }
            Ok(Regenerated::Moved)
        })
    }

    fn delete<'a>(&'a self, id: &'a SessionId) -> BoxFuture<'a, Result<(), BackendError>> {
        Box::pin(async move {
            let mut cmd = redis::cmd("DEL");
            cmd.arg(self.key(id));
            self.connection
                .query::<()>(&cmd, "deleting the session record from Redis")
                .await
        })
    }

    fn delete_expired(&self) -> BoxFuture<'_, Result<u64, BackendError>> {
        // Redis expires the records by itself.
        Box::pin(async { Ok(0) })
    }
}
