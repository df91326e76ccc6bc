//! [`RedisBackend`]: session records in Redis, one hash per session, through a deadpool-redis
//! pool (a single server or a Redis Cluster).

use std::fmt;
use std::sync::{Arc, LazyLock, Mutex, MutexGuard, PoisonError};

use deadpool_redis::redis::aio::ConnectionLike;
use deadpool_redis::redis::{
    self, Cmd, ErrorKind, FromRedisValue, Pipeline, RedisError, RedisFuture, ServerErrorKind,
    Value as RedisValue,
};
use time::{Duration, OffsetDateTime};

use super::{BackendError, BoxFuture, Changes, Record, Regenerated, SessionBackend};
use crate::id::SessionId;

/// The key prefix used unless [`RedisBackend::key_prefix`] sets another.
const DEFAULT_PREFIX: &str = "session:";

/// The prefix of the hash fields that hold the session's keys. (The other field, `m`, written
/// by [`CREATE_LUA`], marks the record as existing, so that an empty session is still a key; it
/// holds the Unix time, in seconds, the record was created.)
const DATA_PREFIX: &str = "d:";

/// The longest TTL given to Redis: about 100 years, far below what `PEXPIRE` rejects.
const MAX_TTL_MS: i64 = 100 * 365 * 24 * 3600 * 1000;

/// A Lua script and its SHA1 (for `EVALSHA`), computed once by `redis::Script`.
struct Lua {
    source: &'static str,
    sha1: LazyLock<String>,
}

/// The SHA1 by which Redis knows a script.
fn script_sha1(source: &str) -> String {
    redis::Script::new(source).get_hash().to_owned()
}

/// Creates the record only if the key does not exist.
///
/// `KEYS[1]`: the record. `ARGV[1]`: the TTL in ms. `ARGV[2]`: the marker value. `ARGV[3..]`:
/// field, value pairs. Returns 1 when it created the record, 0 when the key was taken.
/// Fields go in chunks of 256 pairs, so `unpack` stays far below Lua's stack limit.
const CREATE_LUA: &str = r"local key = KEYS[1]
if redis.call('EXISTS', key) == 1 then
  return 0
end
redis.call('HSET', key, 'm', ARGV[2])
for i = 3, #ARGV, 512 do
  redis.call('HSET', key, unpack(ARGV, i, math.min(i + 511, #ARGV)))
end
redis.call('PEXPIRE', key, ARGV[1])
return 1
";

/// [`CREATE_LUA`], run by its SHA1.
static CREATE: Lua = Lua {
    source: CREATE_LUA,
    sha1: LazyLock::new(|| script_sha1(CREATE_LUA)),
};

/// The Lua that applies [`Changes`] to the existing record `key`: clear, then remove, then set.
///
/// `ARGV[1]`: the TTL in ms (used by the script around it). `ARGV[2]`: `1` to clear every data
/// field. `ARGV[3]`: `n`, the number of removed fields. `ARGV[4..3+n]`: the removed fields. The
/// rest: field, value pairs to set. The marker field is never touched, so a cleared session
/// still exists.
macro_rules! apply_changes_lua {
    () => {
        r"local function hdel(fields, from, to)
  for i = from, to, 512 do
    redis.call('HDEL', key, unpack(fields, i, math.min(i + 511, to)))
  end
end
if ARGV[2] == '1' then
  local data = {}
  for _, field in ipairs(redis.call('HKEYS', key)) do
    if string.sub(field, 1, 2) == 'd:' then
      data[#data + 1] = field
    end
  end
  hdel(data, 1, #data)
end
local removed = tonumber(ARGV[3])
hdel(ARGV, 4, 3 + removed)
for i = 4 + removed, #ARGV, 512 do
  redis.call('HSET', key, unpack(ARGV, i, math.min(i + 511, #ARGV)))
end
"
    };
}

/// Applies [`Changes`] to an existing record, then restarts its TTL.
///
/// `KEYS[1]`: the record; `ARGV` as `apply_changes_lua!` says. Returns 0, and changes nothing,
/// when the key does not exist; else 1.
const APPLY_LUA: &str = concat!(
    r"local key = KEYS[1]
if redis.call('EXISTS', key) == 0 then
  return 0
end
",
    apply_changes_lua!(),
    r"redis.call('PEXPIRE', key, ARGV[1])
return 1
"
);

/// [`APPLY_LUA`], run by its SHA1.
static APPLY: Lua = Lua {
    source: APPLY_LUA,
    sha1: LazyLock::new(|| script_sha1(APPLY_LUA)),
};

/// Takes a record out of its key for a move to another (`regenerate`): applies [`Changes`],
/// then returns every field and deletes the key, in one step.
///
/// `KEYS[1]`: the record; `ARGV` as for [`APPLY_LUA`] (the TTL is not used). Returns nil, and
/// changes nothing, when the key does not exist; else the hash's fields and values, flat.
const TAKE_LUA: &str = concat!(
    r"local key = KEYS[1]
if redis.call('EXISTS', key) == 0 then
  return false
end
",
    apply_changes_lua!(),
    r"local fields = redis.call('HGETALL', key)
redis.call('DEL', key)
return fields
"
);

/// [`TAKE_LUA`], run by its SHA1.
static TAKE: Lua = Lua {
    source: TAKE_LUA,
    sha1: LazyLock::new(|| script_sha1(TAKE_LUA)),
};

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
    pool: Pool,
    prefix: String,
    /// The shared connection, once one was taken from the pool; dropped when it fails in a way
    /// that needs a new one, so the next request takes a fresh one.
    shared: Arc<Mutex<Option<Connection>>>,
}

/// The pool of either kind.
#[derive(Clone)]
enum Pool {
    Single(deadpool_redis::Pool),
    Cluster(deadpool_redis::cluster::Pool),
}

/// A multiplexed connection taken out of either kind of pool. Clones share one socket and
/// pipeline their commands on it, so every request uses a clone instead of checking a
/// connection out of the pool (which costs an `UNWATCH` + `PING` round trip each time).
#[derive(Clone)]
enum Connection {
    Single(redis::aio::MultiplexedConnection),
    Cluster(redis::cluster_async::ClusterConnection),
}

impl ConnectionLike for Connection {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, RedisValue> {
        match self {
            Self::Single(conn) => conn.req_packed_command(cmd),
            Self::Cluster(conn) => conn.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<RedisValue>> {
        match self {
            Self::Single(conn) => conn.req_packed_commands(pipeline, offset, count),
            Self::Cluster(conn) => conn.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Self::Single(conn) => conn.get_db(),
            Self::Cluster(conn) => conn.get_db(),
        }
    }
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
            pool: Pool::Single(pool),
            prefix: DEFAULT_PREFIX.to_owned(),
            shared: Arc::default(),
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
            pool: Pool::Cluster(pool),
            prefix: DEFAULT_PREFIX.to_owned(),
            shared: Arc::default(),
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

    /// The shared connection, or a new one from the pool when there is none yet.
    async fn connection(&self) -> Result<Connection, BackendError> {
        if let Some(shared) = self.lock_shared().clone() {
            return Ok(shared);
        }
        let connection = match &self.pool {
            Pool::Single(pool) => pool
                .get()
                .await
                .map(|conn| Connection::Single(deadpool_redis::Connection::take(conn))),
            Pool::Cluster(pool) => pool
                .get()
                .await
                .map(|conn| Connection::Cluster(deadpool_redis::cluster::Connection::take(conn))),
        }
        .map_err(|e| BackendError::new("getting a Redis connection from the pool", e))?;
        *self.lock_shared() = Some(connection.clone());
        Ok(connection)
    }

    /// Forgets the shared connection when `error` means it cannot serve again (closed, reset,
    /// timed out), so that the next request takes a new one from the pool.
    fn forget_broken_connection(&self, error: &RedisError) {
        if error.is_unrecoverable_error()
            || error.is_io_error()
            || error.is_connection_dropped()
            || error.is_timeout()
        {
            *self.lock_shared() = None;
        }
    }

    fn lock_shared(&self) -> MutexGuard<'_, Option<Connection>> {
        // Held only to clone or replace the handle: nothing can be left half-done.
        self.shared.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs `cmd` on a pooled connection; `doing` names the operation in the error.
    async fn query<T: FromRedisValue>(
        &self,
        cmd: &Cmd,
        doing: &'static str,
    ) -> Result<T, BackendError> {
        let mut conn = self.connection().await?;
        cmd.query_async(&mut conn).await.map_err(|e| {
            self.forget_broken_connection(&e);
            BackendError::new(doing, e)
        })
    }

    /// Runs a Lua script with one key, by its SHA1; when the server does not know it yet, by its
    /// text, which also caches it there. One round trip, except the first time on each server.
    async fn eval<T: FromRedisValue>(
        &self,
        script: &Lua,
        key: &str,
        args: &[Vec<u8>],
        doing: &'static str,
    ) -> Result<T, BackendError> {
        let invocation = |command: &str, body: &str| {
            let mut cmd = redis::cmd(command);
            cmd.arg(body).arg(1).arg(key);
            for arg in args {
                cmd.arg(arg.as_slice());
            }
            cmd
        };
        let mut conn = self.connection().await?;
        let result = match invocation("EVALSHA", &script.sha1)
            .query_async(&mut conn)
            .await
        {
            Err(error) if is_noscript(&error) => {
                invocation("EVAL", script.source)
                    .query_async(&mut conn)
                    .await
            }
            other => other,
        };
        result.map_err(|e| {
            self.forget_broken_connection(&e);
            BackendError::new(doing, e)
        })
    }
}

fn is_noscript(error: &RedisError) -> bool {
    error.kind() == ErrorKind::Server(ServerErrorKind::NoScript)
}

/// The TTL in whole milliseconds, at least 1 (Redis deletes a key given a TTL of 0 or less at
/// once) and at most about 100 years.
fn ttl_millis(ttl: Duration) -> i64 {
    i64::try_from(ttl.whole_milliseconds())
        .unwrap_or(MAX_TTL_MS)
        .clamp(1, MAX_TTL_MS)
}

/// Appends the field `d:<key>` and the value's compact JSON text.
fn push_field(
    args: &mut Vec<Vec<u8>>,
    key: &str,
    value: &serde_json::Value,
) -> Result<(), BackendError> {
    let json = serde_json::to_vec(value).map_err(|e| {
        BackendError::new(
            format!("encoding the value of session key {key:?} as JSON"),
            e,
        )
    })?;
    args.push(format!("{DATA_PREFIX}{key}").into_bytes());
    args.push(json);
    Ok(())
}

/// The arguments of [`APPLY_LUA`] and [`TAKE_LUA`] for `changes`.
fn change_args(changes: &Changes, ttl: Duration) -> Result<Vec<Vec<u8>>, BackendError> {
    let mut args = Vec::with_capacity(3 + changes.removed.len() + 2 * changes.set.len());
    args.push(ttl_millis(ttl).to_string().into_bytes());
    args.push(if changes.cleared { b"1" } else { b"0" }.to_vec());
    args.push(changes.removed.len().to_string().into_bytes());
    for key in &changes.removed {
        args.push(format!("{DATA_PREFIX}{key}").into_bytes());
    }
    for (key, value) in &changes.set {
        push_field(&mut args, key, value)?;
    }
    Ok(args)
}

/// The marker field's value for a record created now: the Unix time in seconds.
fn now_marker() -> Vec<u8> {
    OffsetDateTime::now_utc()
        .unix_timestamp()
        .to_string()
        .into_bytes()
}

/// The record from a hash's fields: the `d:` fields, parsed as JSON; other fields are ignored.
fn parse_record(fields: Vec<(Vec<u8>, Vec<u8>)>) -> Result<Record, BackendError> {
    let mut record = Record::new();
    for (field, value) in fields {
        let Some(key) = field.strip_prefix(DATA_PREFIX.as_bytes()) else {
            continue;
        };
        let key = String::from_utf8(key.to_vec()).map_err(|e| {
            BackendError::new(
                "a field name of the session record in Redis is not UTF-8",
                e,
            )
        })?;
        let value = serde_json::from_slice(&value).map_err(|e| {
            BackendError::new(
                format!("the value of session key {key:?} in Redis is not valid JSON"),
                e,
            )
        })?;
        record.insert(key, value);
    }
    Ok(record)
}

impl fmt::Debug for RedisBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Neither the pool nor its manager: their connection info may hold a password.
        let (kind, status) = match &self.pool {
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
            self.eval(
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
            self.eval(
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
            self.query::<()>(&cmd, "deleting the session record from Redis")
                .await
        })
    }

    fn delete_expired(&self) -> BoxFuture<'_, Result<u64, BackendError>> {
        // Redis expires the records by itself.
        Box::pin(async { Ok(0) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ttl_is_clamped_to_what_pexpire_accepts() {
        assert_eq!(ttl_millis(Duration::ZERO), 1);
        assert_eq!(ttl_millis(Duration::seconds(-5)), 1);
        assert_eq!(ttl_millis(Duration::microseconds(500)), 1);
        assert_eq!(ttl_millis(Duration::seconds(90)), 90_000);
        assert_eq!(ttl_millis(Duration::MAX), MAX_TTL_MS);
    }

    #[test]
    fn record_reads_data_fields_and_skips_the_marker() {
        let fields = vec![
            (b"m".to_vec(), b"1700000000".to_vec()),
            (b"d:a".to_vec(), b"[1,{\"b\":null}]".to_vec()),
            (b"d:d:x".to_vec(), b"\"y\"".to_vec()),
        ];
        assert_eq!(
            serde_json::Value::Object(parse_record(fields).unwrap()),
            json!({"a": [1, {"b": null}], "d:x": "y"})
        );
    }

    #[test]
    fn corrupt_field_names_the_key_not_the_value() {
        let fields = vec![(b"d:cart".to_vec(), b"secret-not-json".to_vec())];
        let error = parse_record(fields).unwrap_err();
        let text = error.to_string();
        assert!(text.contains("\"cart\""), "{text}");
        assert!(!text.contains("secret"), "{text}");
    }
}
