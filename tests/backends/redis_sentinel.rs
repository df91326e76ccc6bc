//! The backend suite against a Sentinel deployment of its own (a master, a replica and three
//! sentinels from `redis-server`, on loopback ports, stopped when the test ends), through
//! `RedisBackend::sentinel`, with every write acknowledged by the replica.
#![cfg(feature = "redis")]

use std::sync::Arc;

use axum_session_store::backend::RedisBackend;
use deadpool_redis::sentinel::{Config, SentinelServerType};
use deadpool_redis::Runtime;

use crate::backend_suite_in_one_test;
use crate::common::redis_sentinel::{RedisSentinel, MASTER_NAME};
use crate::common::servers::{self, Fixture};

/// A deployment of its own and a backend on its master; `None` when `redis-server` is
/// missing and tests may skip.
async fn sentinel_backend() -> Option<(RedisSentinel, RedisBackend)> {
    let deployment = tokio::task::spawn_blocking(RedisSentinel::start)
        .await
        .unwrap()?;
    let pool = Config::from_urls(
        deployment.sentinel_urls(),
        MASTER_NAME.to_owned(),
        SentinelServerType::Master,
    )
    .create_pool(Some(Runtime::Tokio1))
    .unwrap();
    let prefix = format!("{}:", servers::unique_name("sentinel"));
    let backend = RedisBackend::sentinel(pool)
        .key_prefix(prefix)
        .wait_for_replicas(1, time::Duration::seconds(2));
    Some((deployment, backend))
}

async fn sentinel_fixture() -> Option<Fixture> {
    let (deployment, backend) = sentinel_backend().await?;
    Some(Fixture::with_cleanup(Arc::new(backend), move || {
        drop(deployment)
    }))
}

backend_suite_in_one_test!(the_backend_suite_through_sentinel, sentinel_fixture);
