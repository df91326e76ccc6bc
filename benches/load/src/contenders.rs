//! The contenders: one axum router each, serving the same two routes.
//!
//! - `GET /`: read the counter `n` from the session (0 when absent), add one, write it back,
//!   answer the new value;
//! - `GET /read`: answer the counter without changing the session.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;

use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;
use axum_extra::extract::cookie::{Cookie, Key, SameSite, SignedCookieJar};
use axum_session_store::backend::MemoryBackend;
use axum_session_store::backend::{Batching, PostgresBackend, RedisBackend, UserIndex};
use axum_session_store::{Session, SessionConfig, SessionConfigBuilder, SessionError};
use deadpool_redis::redis;
use sqlx::postgres::{PgPool, PgPoolOptions};
use tower_sessions::{MemoryStore, SessionManagerLayer};
use tower_sessions_redis_store::fred::prelude::{
    ClientLike, Config as FredConfig, Pool as FredPool,
};
use tower_sessions_redis_store::RedisStore;
use tower_sessions_sqlx_store::PostgresStore;

use crate::batches::{BatchSizes, Observed};
use crate::cluster::Cluster;

/// The secret of our configs (at least 32 bytes).
const SECRET: &[u8] = b"load benchmark secret: not for production use!!";

/// The session counter's key.
const COUNTER: &str = "n";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Contender {
    /// Axum with no sessions: the ceiling.
    Bare,
    /// axum-extra's `SignedCookieJar`, the counter in a signed cookie.
    ExtraSigned,
    /// tower-sessions 0.14 with its `MemoryStore`.
    TsMemory,
    /// tower-sessions with tower-sessions-redis-store (fred).
    TsRedis,
    /// tower-sessions with tower-sessions-sqlx-store's `PostgresStore`.
    TsPostgres,
    /// Ours, the default session in a signed cookie.
    OursCookie,
    /// Ours, the default session on the memory backend.
    OursMemory,
    /// Ours, the default session on the Redis backend (deadpool-redis).
    OursRedis,
    /// Ours, the default session on the PostgreSQL backend (sqlx).
    OursPostgres,
    /// `OursRedis` with batching off (`max_batch(1)`): what the batching adds.
    OursRedisUnbatched,
    /// `OursPostgres` with batching off (`max_batch(1)`).
    OursPostgresUnbatched,
    /// Ours on a Redis Cluster of three masters started for the run.
    OursRedisCluster,
    /// `OursRedisCluster` with batching off (`max_batch(1)`): what a pipeline per master adds.
    OursRedisClusterUnbatched,
    /// `OursRedisCluster` with the local cache (one per master).
    OursRedisClusterCached,
    /// `OursRedis` with the local cache (`local_cache`, CLIENT TRACKING).
    OursRedisCached,
    /// `OursMemory` with session metadata on (times and user agent).
    OursMemoryMetadata,
    /// `OursMemory` with lifecycle events on, sent to a handler that does nothing.
    OursMemoryEvents,
    /// `OursMemory` with its records sealed at rest (`Storage::sealed`).
    OursMemorySealed,
    /// `OursMemory` recording its metrics into a Prometheus recorder (this crate's `metrics`
    /// feature).
    OursMemoryMetrics,
}

/// The contenders that show what the operating features (metadata, events, metrics) cost:
/// measured by `handler-cost` beside `ours-memory`, not in the load sweep.
pub const OPERATING: [Contender; 4] = [
    Contender::OursMemoryMetadata,
    Contender::OursMemoryEvents,
    Contender::OursMemorySealed,
    Contender::OursMemoryMetrics,
];

pub const ALL: [Contender; 15] = [
    Contender::Bare,
    Contender::ExtraSigned,
    Contender::OursCookie,
    Contender::TsMemory,
    Contender::OursMemory,
    Contender::TsRedis,
    Contender::OursRedis,
    Contender::TsPostgres,
    Contender::OursPostgres,
    Contender::OursRedisUnbatched,
    Contender::OursPostgresUnbatched,
    Contender::OursRedisCluster,
    Contender::OursRedisClusterUnbatched,
    Contender::OursRedisClusterCached,
    Contender::OursRedisCached,
];

impl Contender {
    pub fn name(self) -> &'static str {
        match self {
            Contender::Bare => "bare-axum",
            Contender::ExtraSigned => "axum-extra-signed",
            Contender::TsMemory => "ts-memory",
            Contender::TsRedis => "ts-redis",
            Contender::TsPostgres => "ts-postgres",
            Contender::OursCookie => "ours-cookie",
            Contender::OursMemory => "ours-memory",
            Contender::OursRedis => "ours-redis",
            Contender::OursPostgres => "ours-postgres",
            Contender::OursRedisUnbatched => "ours-redis-unbatched",
            Contender::OursPostgresUnbatched => "ours-postgres-unbatched",
            Contender::OursRedisCluster => "ours-redis-cluster",
            Contender::OursRedisClusterUnbatched => "ours-redis-cluster-unbatched",
            Contender::OursRedisClusterCached => "ours-redis-cluster-cached",
            Contender::OursRedisCached => "ours-redis-cached",
            Contender::OursMemoryMetadata => "ours-memory-metadata",
            Contender::OursMemoryEvents => "ours-memory-events",
            Contender::OursMemorySealed => "ours-memory-sealed",
            Contender::OursMemoryMetrics => "ours-memory-metrics",
        }
    }

    /// The contender ours is compared with.
    pub fn rival(self) -> Option<Contender> {
        match self {
            Contender::OursCookie => Some(Contender::ExtraSigned),
            Contender::OursMemory
            | Contender::OursMemoryMetadata
            | Contender::OursMemoryEvents
            | Contender::OursMemorySealed
            | Contender::OursMemoryMetrics => Some(Contender::TsMemory),
            Contender::OursRedis
            | Contender::OursRedisUnbatched
            | Contender::OursRedisCluster
            | Contender::OursRedisClusterUnbatched
            | Contender::OursRedisClusterCached
            | Contender::OursRedisCached => Some(Contender::TsRedis),
            Contender::OursPostgres | Contender::OursPostgresUnbatched => {
                Some(Contender::TsPostgres)
            }
            _ => None,
        }
    }

    /// Whether the answers carry a per-session counter to check.
    pub fn verifies(self) -> bool {
        self != Contender::Bare
    }
}

/// Where the servers are, and how big the pools are (the same for ours and theirs).
#[derive(Clone, Debug)]
pub struct Servers {
    pub redis_url: String,
    pub postgres_url: String,
    pub redis_pool: usize,
    pub pg_pool: u32,
    /// Unique per invocation: Redis key prefixes and table names include it.
    pub run_id: String,
}

/// A router ready to serve, and what to remove once the run is over.
pub struct Prepared {
    pub router: Router,
    pub cleanup: Cleanup,
    /// How big the backend's batches were, for ours on a server.
    pub batches: Option<Arc<BatchSizes>>,
}

pub enum Cleanup {
    Nothing,
    /// Delete every key under the prefix.
    RedisPrefix {
        pool: deadpool_redis::Pool,
        prefix: String,
    },
    /// Delete the keys named by each client's cookie `cookie` (tower-sessions' Redis store
    /// keys records by the bare session id, which is the cookie's value).
    RedisCookieKeys {
        pool: deadpool_redis::Pool,
        fred: FredPool,
        cookie: &'static str,
    },
    /// Drop the table.
    DropTable {
        pool: PgPool,
        table: String,
    },
    /// Stop the cluster (its records go with it).
    StopCluster(Cluster),
}

impl Cleanup {
    /// Removes the run's records; returns a line saying what was removed.
    pub async fn run(self, jars: &[Vec<(String, String)>]) -> Result<String, String> {
        match self {
            Cleanup::Nothing => Ok(String::new()),
            Cleanup::RedisPrefix { pool, prefix } => {
                let mut conn = pool.get().await.map_err(|e| e.to_string())?;
                let mut cursor: u64 = 0;
                let mut deleted: u64 = 0;
                loop {
                    let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
                        .arg(cursor)
                        .arg("MATCH")
                        .arg(format!("{prefix}*"))
                        .arg("COUNT")
                        .arg(1000)
                        .query_async(&mut conn)
                        .await
                        .map_err(|e| e.to_string())?;
                    if !keys.is_empty() {
                        let n: u64 = redis::cmd("DEL")
                            .arg(&keys)
                            .query_async(&mut conn)
                            .await
                            .map_err(|e| e.to_string())?;
                        deleted += n;
                    }
                    cursor = next;
                    if cursor == 0 {
                        break;
                    }
                }
                Ok(format!("deleted {deleted} Redis keys under {prefix}"))
            }
            Cleanup::RedisCookieKeys { pool, fred, cookie } => {
                let _ = fred.quit().await;
                let keys: Vec<&str> = jars
                    .iter()
                    .flatten()
                    .filter(|(name, _)| name == cookie)
                    .map(|(_, value)| value.as_str())
                    .collect();
                let mut deleted: u64 = 0;
                if !keys.is_empty() {
                    let mut conn = pool.get().await.map_err(|e| e.to_string())?;
                    deleted = redis::cmd("DEL")
                        .arg(&keys)
                        .query_async(&mut conn)
                        .await
                        .map_err(|e| e.to_string())?;
                }
                Ok(format!(
                    "deleted {deleted} Redis keys named by the clients' `{cookie}` cookies"
                ))
            }
            Cleanup::DropTable { pool, table } => {
                let rows: i64 = sqlx::query_scalar(&format!("select count(*) from {table}"))
                    .fetch_one(&pool)
                    .await
                    .unwrap_or(-1);
                sqlx::query(&format!("drop table if exists {table}"))
                    .execute(&pool)
                    .await
                    .map_err(|e| e.to_string())?;
                pool.close().await;
                Ok(format!("dropped table {table} ({rows} rows)"))
            }
            Cleanup::StopCluster(cluster) => {
                drop(cluster);
                Ok("stopped the Redis Cluster".to_owned())
            }
        }
    }
}

fn redis_pool(servers: &Servers) -> Result<deadpool_redis::Pool, String> {
    let mut config = deadpool_redis::Config::from_url(servers.redis_url.clone());
    config.pool = Some(deadpool_redis::PoolConfig::new(servers.redis_pool));
    config
        .create_pool(Some(deadpool_redis::Runtime::Tokio1))
        .map_err(|e| format!("deadpool-redis pool: {e}"))
}

async fn pg_pool(servers: &Servers) -> Result<PgPool, String> {
    PgPoolOptions::new()
        .max_connections(servers.pg_pool)
        .connect(&servers.postgres_url)
        .await
        .map_err(|e| format!("connecting to PostgreSQL at {}: {e}", servers.postgres_url))
}

/// Sets up `contender` for the run `tag` (unique within the invocation).
pub async fn prepare(
    contender: Contender,
    servers: &Servers,
    tag: &str,
) -> Result<Prepared, String> {
    let nothing = |router| Prepared {
        router,
        cleanup: Cleanup::Nothing,
        batches: None,
    };
    let name = format!("bench_{}_{tag}", servers.run_id);
    match contender {
        Contender::Bare => Ok(nothing(bare())),
        Contender::ExtraSigned => Ok(nothing(extra_signed())),
        Contender::TsMemory => Ok(nothing(tower_sessions_router(MemoryStore::default()))),
        Contender::TsRedis => {
            let config = FredConfig::from_url(&servers.redis_url)
                .map_err(|e| format!("fred config: {e}"))?;
            let fred = FredPool::new(config, None, None, None, servers.redis_pool)
                .map_err(|e| format!("fred pool: {e}"))?;
            fred.init()
                .await
                .map_err(|e| format!("connecting fred to {}: {e}", servers.redis_url))?;
            let router = tower_sessions_router(RedisStore::new(fred.clone()));
            Ok(Prepared {
                router,
                cleanup: Cleanup::RedisCookieKeys {
                    pool: redis_pool(servers)?,
                    fred,
                    cookie: "id",
                },
                batches: None,
            })
        }
        Contender::TsPostgres => {
            let pool = pg_pool(servers).await?;
            let store = PostgresStore::new(pool.clone())
                .with_schema_name("public")?
                .with_table_name(&name)?;
            store
                .migrate()
                .await
                .map_err(|e| format!("tower-sessions-sqlx-store migrate: {e}"))?;
            Ok(Prepared {
                router: tower_sessions_router(store),
                cleanup: Cleanup::DropTable {
                    pool,
                    table: format!("public.{name}"),
                },
                batches: None,
            })
        }
        Contender::OursCookie => {
            let config = SessionConfig::builder()
                .secret_key(SECRET)
                .build()
                .map_err(|e| e.to_string())?;
            Ok(nothing(ours_cookie(config)))
        }
        Contender::OursMemory => ours_memory(|b| b),
        Contender::OursMemoryMetadata => {
            ours_memory(|b| b.metadata(axum_session_store::session::Metadata::new()))
        }
        Contender::OursMemoryEvents => ours_memory(|b| b.events(Discard)),
        Contender::OursMemorySealed => ours_memory_in(
            axum_session_store::backend::Storage::from(MemoryBackend::new()).sealed(),
            |b| b,
        ),
        Contender::OursMemoryMetrics => {
            install_metrics_recorder()?;
            ours_memory(|b| b)
        }
        Contender::OursRedis => ours_redis(servers, &name, RedisOptions::default()).await,
        Contender::OursRedisUnbatched => {
            let unbatched = RedisOptions {
                max_batch: Some(1),
                ..RedisOptions::default()
            };
            ours_redis(servers, &name, unbatched).await
        }
        Contender::OursRedisCached => {
            let cached = RedisOptions {
                cache: true,
                ..RedisOptions::default()
            };
            ours_redis(servers, &name, cached).await
        }
        Contender::OursRedisCluster => ours_redis_cluster(servers, RedisOptions::default()).await,
        Contender::OursRedisClusterUnbatched => {
            let unbatched = RedisOptions {
                max_batch: Some(1),
                ..RedisOptions::default()
            };
            ours_redis_cluster(servers, unbatched).await
        }
        Contender::OursRedisClusterCached => {
            let cached = RedisOptions {
                cache: true,
                ..RedisOptions::default()
            };
            ours_redis_cluster(servers, cached).await
        }
        Contender::OursPostgres => ours_postgres(servers, &name, None).await,
        Contender::OursPostgresUnbatched => ours_postgres(servers, &name, Some(1)).await,
    }
}

/// Our router with `backend` (observed for its batch sizes) as the default session's.
fn ours_on(backend: impl Batching + UserIndex) -> Result<(Router, Arc<BatchSizes>), String> {
    let batches = Arc::new(BatchSizes::default());
    let config = SessionConfig::builder()
        .secret_key(SECRET)
        .default_backend(Observed::new(backend, batches.clone()).storage())
        .build()
        .map_err(|e| e.to_string())?;
    Ok((ours_server(config), batches))
}

/// How `ours_redis` sets its backend up.
#[derive(Default)]
struct RedisOptions {
    max_batch: Option<usize>,
    cache: bool,
}

async fn ours_redis(
    servers: &Servers,
    name: &str,
    options: RedisOptions,
) -> Result<Prepared, String> {
    let pool = redis_pool(servers)?;
    // Fail here, not on the first request, when Redis is down.
    let mut conn = pool
        .get()
        .await
        .map_err(|e| format!("connecting to Redis at {}: {e}", servers.redis_url))?;
    let _: String = redis::cmd("PING")
        .query_async(&mut conn)
        .await
        .map_err(|e| format!("Redis PING: {e}"))?;
    drop(conn);
    let prefix = format!("{name}:");
    let mut backend = RedisBackend::new(pool.clone()).key_prefix(prefix.clone());
    if let Some(max) = options.max_batch {
        let limits = backend.batch_limits().max_batch(max);
        backend = backend.with_batch_limits(limits);
    }
    if options.cache {
        backend = backend
            .local_cache(&servers.redis_url, 100_000)
            .map_err(|e| e.to_string())?;
    }
    let (router, batches) = ours_on(backend)?;
    Ok(Prepared {
        router,
        cleanup: Cleanup::RedisPrefix { pool, prefix },
        batches: Some(batches),
    })
}

async fn ours_redis_cluster(servers: &Servers, options: RedisOptions) -> Result<Prepared, String> {
    let cluster = tokio::task::block_in_place(|| Cluster::start(&servers.run_id))?;
    let mut config = deadpool_redis::cluster::Config::from_urls(cluster.urls());
    config.pool = Some(deadpool_redis::PoolConfig::new(servers.redis_pool));
    let mut backend = RedisBackend::cluster(&config).map_err(|e| e.to_string())?;
    if let Some(max) = options.max_batch {
        let limits = backend.batch_limits().max_batch(max);
        backend = backend.with_batch_limits(limits);
    }
    if options.cache {
        backend = backend
            .local_cache(&config, 100_000)
            .map_err(|e| e.to_string())?;
    }
    let (router, batches) = ours_on(backend)?;
    Ok(Prepared {
        router,
        cleanup: Cleanup::StopCluster(cluster),
        batches: Some(batches),
    })
}

async fn ours_postgres(
    servers: &Servers,
    name: &str,
    max_batch: Option<usize>,
) -> Result<Prepared, String> {
    let pool = pg_pool(servers).await?;
    let mut backend = PostgresBackend::with_table(pool.clone(), name).map_err(|e| e.to_string())?;
    if let Some(max) = max_batch {
        let limits = backend.batch_limits().max_batch(max);
        backend = backend.with_batch_limits(limits);
    }
    backend
        .migrate()
        .await
        .map_err(|e| format!("PostgresBackend::migrate: {e}"))?;
    let (router, batches) = ours_on(backend)?;
    Ok(Prepared {
        router,
        cleanup: Cleanup::DropTable {
            pool,
            table: name.to_owned(),
        },
        batches: Some(batches),
    })
}

// ---- bare axum: the ceiling ----

static BARE_COUNTER: AtomicU64 = AtomicU64::new(0);

fn bare() -> Router {
    Router::new()
        .route(
            "/",
            get(|| async { (BARE_COUNTER.fetch_add(1, Relaxed) + 1).to_string() }),
        )
        .route(
            "/read",
            get(|| async { BARE_COUNTER.load(Relaxed).to_string() }),
        )
}

// ---- axum-extra SignedCookieJar ----

fn counter_cookie(n: u64) -> Cookie<'static> {
    Cookie::build((COUNTER, n.to_string()))
        .path("/")
        .http_only(true)
        .secure(true)
        .same_site(SameSite::Lax)
        .build()
}

fn jar_counter(jar: &SignedCookieJar) -> u64 {
    jar.get(COUNTER)
        .and_then(|c| c.value().parse().ok())
        .unwrap_or(0)
}

async fn extra_write(jar: SignedCookieJar) -> (SignedCookieJar, String) {
    let n = jar_counter(&jar) + 1;
    (jar.add(counter_cookie(n)), n.to_string())
}

async fn extra_read(jar: SignedCookieJar) -> String {
    jar_counter(&jar).to_string()
}

fn extra_signed() -> Router {
    let key = Key::from(&[0x5a; 64]);
    Router::new()
        .route("/", get(extra_write))
        .route("/read", get(extra_read))
        .with_state(key)
}

// ---- tower-sessions ----

fn internal(e: impl std::fmt::Display) -> (StatusCode, String) {
    (StatusCode::INTERNAL_SERVER_ERROR, e.to_string())
}

async fn ts_write(session: tower_sessions::Session) -> Result<String, (StatusCode, String)> {
    let n = session
        .get::<u64>(COUNTER)
        .await
        .map_err(internal)?
        .unwrap_or(0)
        + 1;
    session.insert(COUNTER, n).await.map_err(internal)?;
    Ok(n.to_string())
}

async fn ts_read(session: tower_sessions::Session) -> Result<String, (StatusCode, String)> {
    let n = session
        .get::<u64>(COUNTER)
        .await
        .map_err(internal)?
        .unwrap_or(0);
    Ok(n.to_string())
}

/// tower-sessions with its defaults (cookie `id`, not signed, `Secure`, `SameSite=Strict`).
fn tower_sessions_router<S>(store: S) -> Router
where
    S: tower_sessions::SessionStore + Clone,
{
    Router::new()
        .route("/", get(ts_write))
        .route("/read", get(ts_read))
        .layer(SessionManagerLayer::new(store))
}

// ---- ours ----

/// Signed-cookie sessions as the README's quickstart writes them: no layer, the handler
/// returns the session.
async fn ours_cookie_write(session: Session) -> Result<(Session, String), SessionError> {
    let n = session.get::<u64>(COUNTER)?.unwrap_or(0) + 1;
    session.insert(COUNTER, n)?;
    Ok((session, n.to_string()))
}

async fn ours_read(session: Session) -> Result<String, SessionError> {
    Ok(session.get::<u64>(COUNTER)?.unwrap_or(0).to_string())
}

fn ours_cookie(config: SessionConfig) -> Router {
    Router::new()
        .route("/", get(ours_cookie_write))
        .route("/read", get(ours_read))
        .with_state(config)
}

/// Server-side sessions: the layer loads and saves them.
async fn ours_server_write(session: Session) -> Result<String, SessionError> {
    let n = session.get::<u64>(COUNTER)?.unwrap_or(0) + 1;
    session.insert(COUNTER, n)?;
    Ok(n.to_string())
}

/// Ours on the memory backend, with `tweak` applied to its config.
fn ours_memory(
    tweak: impl FnOnce(SessionConfigBuilder) -> SessionConfigBuilder,
) -> Result<Prepared, String> {
    ours_memory_in(MemoryBackend::new().into(), tweak)
}

/// Ours on `storage` (memory, maybe sealed), the config tweaked by `tweak`.
fn ours_memory_in(
    storage: axum_session_store::backend::Storage,
    tweak: impl FnOnce(SessionConfigBuilder) -> SessionConfigBuilder,
) -> Result<Prepared, String> {
    let builder = SessionConfig::builder()
        .secret_key(SECRET)
        .default_backend(storage);
    let config = tweak(builder).build().map_err(|e| e.to_string())?;
    Ok(Prepared {
        router: ours_server(config),
        cleanup: Cleanup::Nothing,
        batches: None,
    })
}

/// A lifecycle-event handler that does nothing: what delivery itself costs.
#[derive(Debug)]
struct Discard;

impl axum_session_store::session::SessionEvents for Discard {
    async fn handle(&self, _: axum_session_store::session::SessionEvent) {}
}

/// Installs a Prometheus recorder (once) so that the crate's metrics are recorded.
#[cfg(feature = "metrics")]
fn install_metrics_recorder() -> Result<(), String> {
    static INSTALLED: std::sync::OnceLock<()> = std::sync::OnceLock::new();
    if INSTALLED.get().is_none() {
        metrics_exporter_prometheus::PrometheusBuilder::new()
            .install_recorder()
            .map_err(|e| e.to_string())?;
        let _ = INSTALLED.set(());
    }
    Ok(())
}

#[cfg(not(feature = "metrics"))]
fn install_metrics_recorder() -> Result<(), String> {
    Err("ours-memory-metrics needs this crate built with --features metrics".into())
}

fn ours_server(config: SessionConfig) -> Router {
    Router::new()
        .route("/", get(ours_server_write))
        .route("/read", get(ours_read))
        .layer(config.layer())
        .with_state(config)
}
