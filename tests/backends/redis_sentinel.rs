//! The backend suite against a Sentinel deployment of its own (a master, a replica and three
//! sentinels from `redis-server`, on loopback ports, stopped when the test ends), through
//! `RedisBackend::sentinel`, with every write acknowledged by the replica.
#![cfg(feature = "redis")]

use std::sync::Arc;

use axum_session_store::backend::{Changes, RedisBackend};
use axum_session_store::{SessionBackend, SessionId};
use deadpool_redis::redis;
use deadpool_redis::sentinel::{Config, SentinelServerType};
use deadpool_redis::Runtime;
use serde_json::json;
use time::Duration;

use crate::backend_suite_in_one_test;
use crate::common::redis_sentinel::{RedisSentinel, MASTER_NAME};
use crate::common::servers::{self, Fixture};
use crate::redis_cache::{log_commands, sent, warm};

/// A deployment of its own and a backend on its master; `None` when `redis-server` is
/// missing and tests may skip.
async fn sentinel_backend() -> Option<(RedisSentinel, RedisBackend)> {
    let deployment = tokio::task::spawn_blocking(RedisSentinel::start)
        .await
        .unwrap()?;
    let pool = sentinel_config(&deployment)
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

/// The config of a pool on `deployment`'s master.
fn sentinel_config(deployment: &RedisSentinel) -> Config {
    Config::from_urls(
        deployment.sentinel_urls(),
        MASTER_NAME.to_owned(),
        SentinelServerType::Master,
    )
}

/// The same, with the local cache on, connected to the master the sentinels name.
async fn cached_sentinel_fixture() -> Option<Fixture> {
    let (deployment, backend) = sentinel_backend().await?;
    let backend = backend
        .local_cache(&sentinel_config(&deployment), 10_000)
        .unwrap();
    Some(Fixture::with_cleanup(Arc::new(backend), move || drop(deployment)).caching_loads())
}

backend_suite_in_one_test!(
    the_backend_suite_through_sentinel_with_the_local_cache,
    cached_sentinel_fixture
);

/// Behind Sentinel the cache connects to the master the sentinels name: once warm, a request
/// that reads its session and changes it sends the master one script and no load, as on a
/// single server.
#[tokio::test]
async fn behind_sentinel_a_cached_read_modify_write_sends_one_command() {
    let Some((deployment, backend)) = sentinel_backend().await else {
        return;
    };
    let cached = backend
        .local_cache(&sentinel_config(&deployment), 100)
        .unwrap();
    let master = deployment.master_port().expect("a master");
    let mut inspect = redis::Client::open(format!("redis://127.0.0.1:{master}"))
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let id = SessionId::generate().unwrap();
    let record = json!({"n": 0}).as_object().unwrap().clone();
    assert!(cached.create(&id, &record, Duration::HOUR).await.unwrap());
    assert!(
        warm(&cached, &id, &mut inspect).await,
        "the cache never served a hit"
    );
    log_commands(&mut inspect).await;
    for n in 1..=10 {
        let loaded = cached.load(&id).await.unwrap().unwrap();
        assert_eq!(loaded["n"], json!(n - 1));
        let set = Changes::new().set("n".to_owned(), json!(n));
        assert!(cached.apply(&id, &set, Duration::HOUR).await.unwrap());
    }
    assert_eq!(sent(&mut inspect, "evalsha").await, 10);
    assert_eq!(
        sent(&mut inspect, "hgetall").await,
        0,
        "a load read the master"
    );
    drop(deployment);
}
