//! The real servers the backend tests use, their URLs, unique names, and the skip-or-fail rule.
//!
//! URLs come from `REDIS_URL`, `POSTGRES_URL` and `MYSQL_URL`, with this machine's defaults.
//! A server that does not answer makes its tests print `skipped: ...` and return, unless
//! `SESSION_TESTS_REQUIRE_SERVERS=1` (set by `.ci/run`), which makes them fail instead.

use std::sync::atomic::{AtomicUsize, Ordering};

use std::sync::Arc;

use axum_session_store::backend::{Batching, DeleteExpired, UserIndex};
use axum_session_store::BackendError;

use super::shared::Shared;

pub fn redis_url() -> String {
    std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

pub fn postgres_url() -> String {
    std::env::var("POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

pub fn mysql_url() -> String {
    std::env::var("MYSQL_URL").unwrap_or_else(|_| "mysql://root@127.0.0.1:3306/test".into())
}

/// Whether a missing server is a failure (CI) rather than a skip.
pub fn servers_required() -> bool {
    std::env::var("SESSION_TESTS_REQUIRE_SERVERS").is_ok_and(|v| v == "1")
}

/// Call when `server` cannot be reached: panics in CI, otherwise prints a skip line.
pub fn unreachable_server(server: &str, error: impl std::fmt::Display) {
    if servers_required() {
        panic!("{server} is required (SESSION_TESTS_REQUIRE_SERVERS=1) but unreachable: {error}");
    }
    eprintln!(
        "skipped: {server} is unreachable ({error}); start it or run ../shared/services-up.sh"
    );
}

/// A name no other test (in this or another process) uses: for tables and key prefixes.
pub fn unique_name(prefix: &str) -> String {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("{prefix}_{}_{n}_{nanos}", std::process::id())
}

/// A backend under test, and what removes its traces (tables, keys) when the test ends, even
/// after a failed assertion.
pub struct Fixture {
    pub backend: Shared,
    cleanup: Option<Box<dyn FnOnce() + Send>>,
    /// Loads may be served from a local cache, without a call that could join a batch: how
    /// many loads go out together then depends on timing, so batching is not asserted.
    pub caches_loads: bool,
    /// The backend's `delete_expired`, when it has one.
    pub delete_expired: Option<Sweep>,
    /// The sessions' storage is [`Storage::sealed`](axum_session_store::backend::Storage::sealed):
    /// the backend holds sealed records.
    pub sealed: bool,
}

/// A backend's [`DeleteExpired::delete_expired`], called from a test.
pub type Sweep = Arc<dyn Fn() -> BoxFuture<'static, Result<u64, BackendError>> + Send + Sync>;

type BoxFuture<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;

impl Fixture {
    pub fn new(backend: impl Batching + UserIndex) -> Self {
        Self {
            backend: Shared::new(backend),
            cleanup: None,
            caches_loads: false,
            delete_expired: None,
            sealed: false,
        }
    }

    /// This fixture's sessions are sealed at rest.
    pub fn sealing(mut self) -> Self {
        self.sealed = true;
        self
    }

    /// This fixture's backend serves loads from a local cache.
    pub fn caching_loads(mut self) -> Self {
        self.caches_loads = true;
        self
    }

    /// This fixture's backend deletes expired records when asked, as `backend` does.
    pub fn deleting_expired(mut self, backend: impl DeleteExpired + Clone) -> Self {
        self.delete_expired = Some(Arc::new(move || {
            let backend = backend.clone();
            Box::pin(async move { backend.delete_expired().await })
        }));
        self
    }

    /// `cleanup` runs on drop, on its own thread and runtime, so it may block on async work.
    pub fn with_cleanup(
        backend: impl Batching + UserIndex,
        cleanup: impl FnOnce() + Send + 'static,
    ) -> Self {
        Self {
            backend: Shared::new(backend),
            cleanup: Some(Box::new(cleanup)),
            caches_loads: false,
            delete_expired: None,
            sealed: false,
        }
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        if let Some(cleanup) = self.cleanup.take() {
            let _ = std::thread::spawn(cleanup).join();
        }
    }
}

/// Runs `work` to completion on a fresh current-thread runtime: for cleanups.
pub fn block_on<F: std::future::Future>(work: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(work)
}

/// A backend on the shared Redis under a fresh key prefix (`{label}_..:`), its prefix, and what
/// deletes its keys afterwards (on a runtime of its own, so it opens its own connection);
/// `None`, after the skip-or-fail rule, when Redis does not answer.
pub async fn shared_redis(
    label: &str,
) -> Option<(
    axum_session_store::backend::RedisBackend,
    String,
    impl FnOnce() + Send + 'static,
)> {
    use deadpool_redis::redis;
    let url = redis_url();
    let pool = deadpool_redis::Config::from_url(url.clone())
        .create_pool(Some(deadpool_redis::Runtime::Tokio1))
        .unwrap();
    let ping = async {
        let mut conn = pool.get().await.map_err(|e| e.to_string())?;
        redis::cmd("PING")
            .query_async::<String>(&mut conn)
            .await
            .map_err(|e| e.to_string())
    };
    if let Err(error) = ping.await {
        unreachable_server("Redis", error);
        return None;
    }
    let prefix = format!("{}:", unique_name(label));
    let backend = axum_session_store::backend::RedisBackend::new(pool).key_prefix(prefix.clone());
    let pattern = format!("{prefix}*");
    let cleanup = move || {
        if let Err(error) = block_on(delete_redis_keys(url, pattern)) {
            eprintln!("could not delete the test's Redis keys: {error}");
        }
    };
    Some((backend, prefix, cleanup))
}

/// Deletes every key that matches `pattern`.
pub async fn delete_redis_keys(
    url: String,
    pattern: String,
) -> deadpool_redis::redis::RedisResult<()> {
    use deadpool_redis::redis;
    let mut conn = redis::Client::open(url)?
        .get_multiplexed_async_connection()
        .await?;
    let mut cursor = 0u64;
    loop {
        let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(&pattern)
            .arg("COUNT")
            .arg(1000)
            .query_async(&mut conn)
            .await?;
        if !keys.is_empty() {
            redis::cmd("DEL")
                .arg(&keys)
                .query_async::<()>(&mut conn)
                .await?;
        }
        if next == 0 {
            return Ok(());
        }
        cursor = next;
    }
}
