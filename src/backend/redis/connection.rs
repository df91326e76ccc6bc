//! The connection every request shares: one multiplexed connection taken from the pool, given
//! up when it breaks, and the two ways commands go out on it (a command, a script by its SHA1).

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use deadpool_redis::redis::aio::ConnectionLike;
use deadpool_redis::redis::{
    self, Cmd, ErrorKind, FromRedisValue, Pipeline, RedisError, RedisFuture, ServerErrorKind,
    Value as RedisValue,
};

use super::scripts::Lua;
use crate::backend::error::BackendError;

/// The pool of either kind.
#[derive(Clone)]
pub(super) enum Pool {
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

/// A pool and the connection taken from it that every request shares.
#[derive(Clone)]
pub(super) struct SharedConnection {
    pub(super) pool: Pool,
    /// The shared connection, once one was taken from the pool; dropped when it fails in a way
    /// that needs a new one, so the next request takes a fresh one.
    shared: Arc<Mutex<Option<Connection>>>,
}

impl SharedConnection {
    pub(super) fn new(pool: Pool) -> Self {
        Self {
            pool,
            shared: Arc::default(),
        }
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
    pub(super) async fn query<T: FromRedisValue>(
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

    /// Runs a Lua script on `keys`, by its SHA1; when the server does not know it yet, by its
    /// text, which also caches it there. One round trip, except the first time on each server.
    pub(super) async fn eval<T: FromRedisValue>(
        &self,
        script: &Lua,
        keys: &[&str],
        args: &[Vec<u8>],
        doing: &'static str,
    ) -> Result<T, BackendError> {
        let invocation = |command: &str, body: &str| {
            let mut cmd = redis::cmd(command);
            cmd.arg(body).arg(keys.len()).arg(keys);
            for arg in args {
                cmd.arg(arg.as_slice());
            }
            cmd
        };
        let mut conn = self.connection().await?;
        let result = match invocation("EVALSHA", script.sha1())
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
