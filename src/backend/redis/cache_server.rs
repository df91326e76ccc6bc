//! [`CacheServer`]: where the local cache opens its own connection, the single server a URL
//! names or the master that Redis Sentinel names, asked for again on every reconnection, so
//! that the cache follows a failover; or, on a Cluster, each master.

use deadpool_redis::redis::sentinel::{SentinelClient, SentinelServerType};
use deadpool_redis::redis::{Client, ConnectionInfo, IntoConnectionInfo, ProtocolVersion};
use tokio::sync::Mutex;

use crate::backend::error::BackendError;

/// Where [`RedisBackend::local_cache`](super::RedisBackend::local_cache) opens the cache's own
/// connection: for a backend on a single server, that server's URL (`&str` or `String`); for
/// one behind Sentinel, the `deadpool_redis::sentinel::Config` its pool was made from, whose
/// sentinels the cache asks for the master each time it connects; for one on a Cluster, the
/// `deadpool_redis::cluster::Config` it was made from (the cache keeps a connection to each
/// master, opened with the backend's settings).
///
/// ```
/// use axum_session_store::backend::RedisBackend;
/// use axum_session_store::deadpool_redis::sentinel::{Config, SentinelServerType};
/// use axum_session_store::deadpool_redis::Runtime;
///
/// let sentinels = vec!["redis://10.0.0.1:26379".to_owned(), "redis://10.0.0.2:26379".to_owned()];
/// let config = Config::from_urls(sentinels, "mymaster".to_owned(), SentinelServerType::Master);
/// let pool = config.create_pool(Some(Runtime::Tokio1))?;
/// let backend = RedisBackend::sentinel(pool).local_cache(&config, 100_000)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub trait CacheServer: sealed::Sealed {}

impl CacheServer for &str {}
impl CacheServer for String {}
impl CacheServer for &String {}
impl CacheServer for &deadpool_redis::sentinel::Config {}
impl CacheServer for &deadpool_redis::cluster::Config {}

pub(super) mod sealed {
    use super::CacheTarget;
    use crate::backend::error::BackendError;

    /// What a [`CacheServer`](super::CacheServer) names: the server one cache connects to,
    /// or each master of a Cluster.
    pub trait Sealed {
        fn target(self) -> Result<CacheTarget, BackendError>;
    }
}

impl sealed::Sealed for &str {
    fn target(self) -> Result<CacheTarget, BackendError> {
        let info = self
            .into_connection_info()
            .map_err(|e| BackendError::new("the local cache's Redis URL is not valid", e))?;
        Ok(CacheTarget::One(Connector::Server(resp3(info)?)))
    }
}

impl sealed::Sealed for String {
    fn target(self) -> Result<CacheTarget, BackendError> {
        sealed::Sealed::target(self.as_str())
    }
}

impl sealed::Sealed for &String {
    fn target(self) -> Result<CacheTarget, BackendError> {
        sealed::Sealed::target(self.as_str())
    }
}

impl sealed::Sealed for &deadpool_redis::sentinel::Config {
    fn target(self) -> Result<CacheTarget, BackendError> {
        let invalid = |e| BackendError::new("the local cache's Sentinel config is not valid", e);
        let master = self.master_name.clone();
        let node = self.node_connection_info.clone().map(Into::into);
        let client =
            match (&self.urls, &self.connections) {
                (Some(_), Some(_)) => return Err(BackendError::msg(
                    "the local cache's Sentinel config gives both urls and connections: give one",
                )),
                (Some(urls), None) => {
                    let urls: Vec<&str> = urls.iter().map(String::as_str).collect();
                    SentinelClient::build(urls, master, node, SentinelServerType::Master)
                }
                (None, Some(connections)) => SentinelClient::build(
                    connections.clone(),
                    master,
                    node,
                    SentinelServerType::Master,
                ),
                (None, None) => SentinelClient::build(
                    vec![deadpool_redis::ConnectionInfo::default()],
                    master,
                    node,
                    SentinelServerType::Master,
                ),
            }
            .map_err(invalid)?;
        Ok(CacheTarget::One(Connector::Sentinel(Mutex::new(client))))
    }
}

impl sealed::Sealed for &deadpool_redis::cluster::Config {
    fn target(self) -> Result<CacheTarget, BackendError> {
        // The backend made from this config holds its settings; the masters come from it.
        Ok(CacheTarget::EachMaster)
    }
}

/// Where the caches a [`CacheServer`] asks for connect.
#[derive(Debug)]
#[allow(
    clippy::large_enum_variant,
    reason = "made once, when the cache is set up, and taken apart at once"
)]
pub enum CacheTarget {
    /// One cache, through this connector.
    One(Connector),
    /// A cache per master of the backend's Cluster.
    EachMaster,
}

/// How the cache reaches the server it connects to.
pub enum Connector {
    /// A single server.
    Server(Client),
    /// The master the sentinels name now.
    Sentinel(Mutex<SentinelClient>),
}

impl std::fmt::Debug for Connector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Not the clients: their connection info may hold a password.
        f.write_str(match self {
            Self::Server(_) => "Connector::Server",
            Self::Sentinel(_) => "Connector::Sentinel",
        })
    }
}

impl Connector {
    /// A client of the server to connect to now (for Sentinel, the master the sentinels name,
    /// checked to call itself master), speaking RESP3.
    pub(super) async fn client(&self) -> Result<Client, BackendError> {
        match self {
            Self::Server(client) => Ok(client.clone()),
            Self::Sentinel(sentinel) => {
                let master = sentinel
                    .lock()
                    .await
                    .async_get_client()
                    .await
                    .map_err(|e| BackendError::new("asking the sentinels for the master", e))?;
                resp3(master.get_connection_info().clone())
            }
        }
    }
}

/// A client of `info`'s server that speaks RESP3, which carries the invalidations.
pub(super) fn resp3(info: ConnectionInfo) -> Result<Client, BackendError> {
    let settings = info
        .redis_settings()
        .clone()
        .set_protocol(ProtocolVersion::RESP3);
    Client::open(info.set_redis_settings(settings))
        .map_err(|e| BackendError::new("the local cache's Redis URL is not valid", e))
}
