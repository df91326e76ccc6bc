//! The connection every request shares: one multiplexed connection taken from the pool, given
//! up when it breaks, and the ways commands go out on it (a command, a script by its SHA1, a
//! write acknowledged by replicas), each bounded in time.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use deadpool_redis::redis::aio::ConnectionLike;
use deadpool_redis::redis::{
    self, Cmd, ErrorKind, FromRedisValue, Pipeline, RedisError, RedisFuture, ServerErrorKind,
    Value as RedisValue,
};

use super::cluster_nodes::ClusterNodes;
use super::scripts::Lua;
use crate::backend::error::BackendError;
use crate::backend::timeout::{bounded, DEFAULT_TIMEOUT};

/// The pool of any kind.
#[derive(Clone)]
pub(super) enum Pool {
    Single(deadpool_redis::Pool),
    /// The pool, and the backend's own connections to each master, for batches.
    Cluster(deadpool_redis::cluster::Pool, Arc<ClusterNodes>),
    /// The master that the sentinels name, asked again for every new connection.
    Sentinel(deadpool_redis::sentinel::Pool),
}

impl Pool {
    /// Whether one connection reaches every key (a single server or a Sentinel's master), so
    /// that a script may touch several.
    pub(super) fn is_single_node(&self) -> bool {
        !matches!(self, Pool::Cluster(..))
    }

    /// A Cluster's masters and the connections to them; `None` on a single server.
    pub(super) fn cluster_nodes(&self) -> Option<&ClusterNodes> {
        match self {
            Pool::Cluster(_, nodes) => Some(nodes),
            Pool::Single(_) | Pool::Sentinel(_) => None,
        }
    }
}

/// Writes count as done once this many replicas have them, waiting at most this long
/// (Redis' `WAIT`).
#[derive(Clone, Copy, Debug)]
pub(super) struct Replication {
    pub(super) replicas: usize,
    pub(super) timeout: Duration,
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
    /// The longest an operation may take, connecting included.
    pub(super) timeout: Duration,
    /// Replicas every write must reach before it counts as done.
    pub(super) replication: Option<Replication>,
}

impl SharedConnection {
    pub(super) fn new(pool: Pool) -> Self {
        Self {
            pool,
            shared: Arc::default(),
            timeout: DEFAULT_TIMEOUT,
            replication: None,
        }
    }

    /// The shared connection, or a new one from the pool when there is none yet.
    async fn connection(&self) -> Result<Connection, BackendError> {
        if let Some(shared) = self.lock_shared().clone() {
            return Ok(shared);
        }
        // Each pool's `get` (which may connect: a cluster client, the sentinels) is a large
        // future, and rare: on the heap, so that every operation's future stays small.
        let connection = match &self.pool {
            Pool::Single(pool) => Box::pin(pool.get())
                .await
                .map(|conn| Connection::Single(deadpool_redis::Connection::take(conn))),
            Pool::Cluster(pool, _) => Box::pin(pool.get())
                .await
                .map(|conn| Connection::Cluster(deadpool_redis::cluster::Connection::take(conn))),
            Pool::Sentinel(pool) => Box::pin(pool.get())
                .await
                .map(|conn| Connection::Single(deadpool_redis::sentinel::Connection::take(conn))),
        }
        .map_err(pool_failed)?;
        *self.lock_shared() = Some(connection.clone());
        Ok(connection)
    }

    /// Forgets the shared connection when `error` means it cannot serve again (closed, reset,
    /// timed out, or a server that is a replica now, after a failover), so that the next
    /// request takes a new one from the pool (which asks the sentinels for the master).
    fn forget_broken_connection(&self, error: &RedisError) {
        if error.is_unrecoverable_error()
            || error.is_io_error()
            || error.is_connection_dropped()
            || error.is_timeout()
            || is_read_only(error)
        {
            self.forget();
        }
    }

    fn forget(&self) {
        *self.lock_shared() = None;
    }

    /// Runs `work` (on the shared connection) within the timeout; `doing` names it in errors.
    async fn bounded<T>(
        &self,
        doing: &'static str,
        work: impl std::future::Future<Output = Result<T, BackendError>>,
    ) -> Result<T, BackendError> {
        let result = bounded(self.timeout, || doing.to_owned(), "Redis", work).await;
        if result.as_ref().is_err_and(BackendError::is_timeout) {
            // The connection may be stuck (a dead node): the next request takes a new one.
            self.forget();
        }
        result
    }

    fn lock_shared(&self) -> MutexGuard<'_, Option<Connection>> {
        // Held only to clone or replace the handle: nothing can be left half-done.
        self.shared.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs `cmd`, a read, on the shared connection; `doing` names the operation in errors.
    pub(super) async fn query<T: FromRedisValue>(
        &self,
        cmd: &Cmd,
        doing: &'static str,
    ) -> Result<T, BackendError> {
        self.bounded(doing, async {
            let mut conn = self.connection().await?;
            send(&mut conn, cmd)
                .await
                .map_err(|e| self.failed(doing, e))
        })
        .await
    }

    /// Runs `cmd`, a write, and waits for the replicas when asked to.
    pub(super) async fn write<T: FromRedisValue>(
        &self,
        cmd: &Cmd,
        doing: &'static str,
    ) -> Result<T, BackendError> {
        self.bounded(doing, async {
            let mut conn = self.connection().await?;
            let Some(replication) = self.replication else {
                return send(&mut conn, cmd)
                    .await
                    .map_err(|e| self.failed(doing, e));
            };
            let acknowledged = acknowledged(&mut conn, replication, cmd).await;
            self.replicated(acknowledged, replication, doing)
        })
        .await
    }

    /// Runs a Lua script on `keys`, a read, by its SHA1 (by its text when the server does not
    /// know it yet, which also caches it there). One round trip, except the first time on
    /// each server.
    pub(super) async fn eval_read<T: FromRedisValue>(
        &self,
        script: &Lua,
        keys: &[&str],
        args: &[Vec<u8>],
        doing: &'static str,
    ) -> Result<T, BackendError> {
        self.bounded(doing, async {
            let mut conn = self.connection().await?;
            let by_sha = invocation(script, keys, args, true);
            match send(&mut conn, &by_sha).await {
                Err(error) if is_noscript(&error) => {
                    send(&mut conn, &invocation(script, keys, args, false))
                        .await
                        .map_err(|e| self.failed(doing, e))
                }
                other => other.map_err(|e| self.failed(doing, e)),
            }
        })
        .await
    }

    /// [`eval_read`](Self::eval_read) for a script that writes: with replication asked for,
    /// it counts as done once the replicas have it.
    pub(super) async fn eval<T: FromRedisValue>(
        &self,
        script: &Lua,
        keys: &[&str],
        args: &[Vec<u8>],
        doing: &'static str,
    ) -> Result<T, BackendError> {
        let Some(replication) = self.replication else {
            return self.eval_read(script, keys, args, doing).await;
        };
        self.bounded(doing, async {
            let mut conn = self.connection().await?;
            let by_sha = invocation(script, keys, args, true);
            let acknowledged = match acknowledged(&mut conn, replication, &by_sha).await {
                Err(error) if is_noscript(&error) => {
                    let by_text = invocation(script, keys, args, false);
                    acknowledged(&mut conn, replication, &by_text).await
                }
                other => other,
            };
            self.replicated(acknowledged, replication, doing)
        })
        .await
    }

    /// Runs the commands of `pipeline` in one round trip, each with its own result (a
    /// command the server refuses fails alone; a broken connection fails them all). For
    /// `writes`, with replication asked for, one `WAIT` after them all counts for each: fewer
    /// replicas than asked fails them all.
    pub(super) async fn pipeline(
        &self,
        pipeline: Pipeline,
        writes: bool,
        doing: &'static str,
    ) -> Result<Vec<Result<RedisValue, RedisError>>, BackendError> {
        let replication = self.replication.filter(|_| writes);
        self.bounded(doing, async {
            let mut conn = self.connection().await?;
            let (results, replicas) = each_replied(&mut conn, pipeline, replication)
                .await
                .map_err(|e| self.failed(doing, e))?;
            for error in results.iter().filter_map(|result| result.as_ref().err()) {
                self.forget_broken_connection(error);
            }
            let (Some(replication), Some(replicas)) = (replication, replicas) else {
                return Ok(results);
            };
            self.replicated(
                replicas.map(|replicas| (results, replicas)),
                replication,
                doing,
            )
        })
        .await
    }

    /// The value of a write that `replication.replicas` replicas acknowledged; fewer is an
    /// error: the write may not survive a failover.
    fn replicated<T>(
        &self,
        acknowledged: Result<(T, usize), RedisError>,
        replication: Replication,
        doing: &'static str,
    ) -> Result<T, BackendError> {
        let (value, replicas) = acknowledged.map_err(|e| self.failed(doing, e))?;
        replication.confirmed(replicas, doing)?;
        Ok(value)
    }

    /// Runs `cmd`, a read, on the Cluster node at `node` (`host`, `port`), or on any node
    /// when `node` is `None`; on a single server, on that server.
    pub(super) async fn query_node<T: FromRedisValue>(
        &self,
        cmd: &Cmd,
        node: Option<&(String, u16)>,
        doing: &'static str,
    ) -> Result<T, BackendError> {
        use redis::cluster_routing::{RoutingInfo, SingleNodeRoutingInfo};
        self.bounded(doing, async {
            let mut conn = self.connection().await?;
            let Connection::Cluster(cluster) = &mut conn else {
                return send(&mut conn, cmd)
                    .await
                    .map_err(|e| self.failed(doing, e));
            };
            let routing = match node {
                Some((host, port)) => SingleNodeRoutingInfo::ByAddress {
                    host: host.clone(),
                    port: *port,
                },
                None => SingleNodeRoutingInfo::Random,
            };
            let value = cluster
                .route_command(cmd.clone(), RoutingInfo::SingleNode(routing))
                .await
                .map_err(|e| self.failed(doing, e))?;
            redis::from_redis_value(value).map_err(|e| self.failed(doing, RedisError::from(e)))
        })
        .await
    }

    /// A failed command as a [`BackendError`], forgetting the connection when it is broken.
    fn failed(&self, doing: &'static str, error: RedisError) -> BackendError {
        self.forget_broken_connection(&error);
        let timed_out = error.is_timeout();
        BackendError::new(doing, error).timeout_if(timed_out)
    }
}

/// A failure to get a connection from the pool, a [`BackendError::timeout`] when the pool or
/// the connection it opened timed out.
fn pool_failed(error: deadpool_redis::PoolError) -> BackendError {
    let timed_out = match &error {
        deadpool_redis::PoolError::Timeout(_) => true,
        deadpool_redis::PoolError::Backend(error) => error.is_timeout(),
        _ => false,
    };
    BackendError::new("getting a Redis connection from the pool", error).timeout_if(timed_out)
}

/// Runs `cmd`, then Redis' `WAIT` for `replication`, and returns the value and how many
/// replicas acknowledged: in one pipeline (one round trip) on a single server, as a second
/// command on a Cluster (where `WAIT` goes to every master and the least count counts).
async fn acknowledged<T: FromRedisValue>(
    conn: &mut Connection,
    replication: Replication,
    cmd: &Cmd,
) -> Result<(T, usize), RedisError> {
    let wait = wait_command(replication);
    if let Connection::Cluster(_) = conn {
        let value = send(conn, cmd).await?;
        let replicas = wait.query_async(conn).await?;
        return Ok((value, replicas));
    }
    let mut pipeline = redis::pipe();
    pipeline.add_command(cmd.clone()).add_command(wait);
    pipeline.query_async(conn).await
}

impl Replication {
    /// Whether `replicas` acknowledging a write is enough; the error that says so when not.
    pub(super) fn confirmed(self, replicas: usize, doing: &str) -> Result<(), BackendError> {
        if replicas < self.replicas {
            return Err(BackendError::msg(format!(
                "{doing}: only {replicas} of {} Redis replicas acknowledged the write within \
                 {} ms; it may be lost in a failover, so it is not reported as saved",
                self.replicas,
                self.timeout.as_millis()
            )));
        }
        Ok(())
    }
}

/// Runs the commands of `pipeline` on `conn` in one round trip, each with its own result, and
/// with `replication`, one `WAIT` after them: the results, and how many replicas acknowledged
/// (`None` without replication). A broken connection fails them all.
pub(super) async fn each_replied(
    conn: &mut impl ConnectionLike,
    mut pipeline: Pipeline,
    replication: Option<Replication>,
) -> Result<
    (
        Vec<Result<RedisValue, RedisError>>,
        Option<Result<usize, RedisError>>,
    ),
    RedisError,
> {
    if let Some(replication) = replication {
        pipeline.add_command(wait_command(replication));
    }
    pipeline.ignore_errors();
    let mut results: Vec<Result<RedisValue, RedisError>> = pipeline.query_async(conn).await?;
    let replicas = replication.map(|_| {
        results
            .pop()
            .ok_or_else(|| RedisError::from((ErrorKind::Client, "no reply to WAIT")))
            .and_then(|wait| {
                wait.and_then(|value| redis::from_redis_value(value).map_err(RedisError::from))
            })
    });
    Ok((results, replicas))
}

/// `WAIT` for `replication`.
fn wait_command(replication: Replication) -> Cmd {
    let timeout_ms = u64::try_from(replication.timeout.as_millis()).unwrap_or(u64::MAX);
    let mut wait = redis::cmd("WAIT");
    wait.arg(replication.replicas).arg(timeout_ms);
    wait
}

/// Runs `cmd` on `conn`. On a Cluster the command goes behind an `ASKING`, in one pipeline
/// that nothing can come between, so that a slot in the middle of a migration costs one
/// redirection. The cluster client follows an `ASK` by sending `ASKING` and the command as two
/// requests on a connection that other requests share: under load another request's command
/// takes the one-time flag, the new owner answers `MOVED` back to the old one, which answers
/// `ASK` again, and the request spends all of the client's retries (and slot refreshes) in
/// that loop. With its own `ASKING` in front, a command redirected to the importing node is
/// always answered there; on a node that imports nothing, `ASKING` does nothing.
async fn send<T: FromRedisValue>(conn: &mut Connection, cmd: &Cmd) -> Result<T, RedisError> {
    if !matches!(conn, Connection::Cluster(_)) {
        return cmd.query_async(conn).await;
    }
    let mut asking = redis::pipe();
    asking.cmd("ASKING").add_command(cmd.clone());
    // Routed by the command's key: `ASKING` has none.
    let mut replies = conn.req_packed_commands(&asking, 1, 1).await?;
    match replies.pop() {
        Some(reply) => redis::from_redis_value(reply.extract_error()?).map_err(RedisError::from),
        None => Err(RedisError::from((
            ErrorKind::Client,
            "no reply to a command sent behind ASKING",
        ))),
    }
}

/// `EVALSHA` (by SHA1) or `EVAL` (by text) of `script` on `keys` with `args`.
pub(super) fn invocation(script: &Lua, keys: &[&str], args: &[Vec<u8>], by_sha: bool) -> Cmd {
    let (command, body) = if by_sha {
        ("EVALSHA", script.sha1())
    } else {
        ("EVAL", script.source)
    };
    let mut cmd = redis::cmd(command);
    cmd.arg(body).arg(keys.len()).arg(keys);
    for arg in args {
        cmd.arg(arg.as_slice());
    }
    cmd
}

/// Whether the server refused a write as a replica (after a failover).
pub(super) fn is_read_only(error: &RedisError) -> bool {
    error.kind() == ErrorKind::Server(ServerErrorKind::ReadOnly)
}

pub(super) fn is_noscript(error: &RedisError) -> bool {
    error.kind() == ErrorKind::Server(ServerErrorKind::NoScript)
}

/// Whether a master refused a command because another node serves its slot now or for this
/// key (`MOVED`, `ASK`), the slot is in the middle of a move or the Cluster of a failover
/// (`TRYAGAIN`, `CLUSTERDOWN`, `MASTERDOWN`), or the node is a replica now (`READONLY`).
pub(super) fn is_redirected(error: &RedisError) -> bool {
    is_read_only(error)
        || matches!(
            error.kind(),
            ErrorKind::Server(
                ServerErrorKind::Moved
                    | ServerErrorKind::Ask
                    | ServerErrorKind::TryAgain
                    | ServerErrorKind::ClusterDown
                    | ServerErrorKind::MasterDown
            )
        )
}
