//! The backend suite against a real Redis Cluster of its own (three masters, three replicas
//! from `redis-server`, on loopback ports, stopped when the test ends), and what is particular
//! to a cluster: records spread over every master, scripts found on each, and a user's
//! sessions, which a cluster cannot revoke atomically, answered as unsupported.
#![cfg(feature = "redis")]

use std::sync::Arc;

use axum_session_store::{Record, RedisBackend, SessionBackend, SessionId};
use deadpool_redis::Runtime;
use serde_json::json;
use time::Duration;

use crate::backend_suite_in_one_test;
use crate::common::redis_cluster::{command, RedisCluster};
use crate::common::servers::{self, Fixture};

/// A cluster of its own and a backend on it (under a fresh prefix); `None` when
/// `redis-server` or `redis-cli` is missing and tests may skip.
async fn cluster_backend() -> Option<(RedisCluster, RedisBackend)> {
    let cluster = tokio::task::spawn_blocking(RedisCluster::start)
        .await
        .unwrap()?;
    let pool = deadpool_redis::cluster::Config::from_urls(cluster.urls())
        .create_pool(Some(Runtime::Tokio1))
        .unwrap();
    let prefix = format!("{}:", servers::unique_name("cluster"));
    Some((cluster, RedisBackend::cluster(pool).key_prefix(prefix)))
}

async fn cluster_fixture() -> Option<Fixture> {
    let (cluster, backend) = cluster_backend().await?;
    Some(Fixture::with_cleanup(Arc::new(backend), move || {
        drop(cluster)
    }))
}

backend_suite_in_one_test!(
    the_backend_suite_on_a_redis_cluster,
    cluster_fixture,
    without_users
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_spread_over_every_master_with_the_scripts_on_each() {
    let Some((cluster, backend)) = cluster_backend().await else {
        return;
    };
    let record: Record = serde_json::from_value(json!({"a": 1})).unwrap();
    let mut ids = Vec::new();
    for _ in 0..60 {
        let id = SessionId::generate().unwrap();
        assert!(backend.create(&id, &record, Duration::HOUR).await.unwrap());
        ids.push(id);
    }
    for id in &ids {
        assert_eq!(backend.load(id).await.unwrap().as_ref(), Some(&record));
    }
    let masters: Vec<u16> = cluster
        .nodes
        .iter()
        .map(|node| node.port)
        .filter(|&port| {
            command(port, &["ROLE"]).is_some_and(|role| role.lines().nth(1) == Some("master"))
        })
        .collect();
    assert_eq!(masters.len(), 3, "three masters");
    for port in masters {
        let keys = command(port, &["DBSIZE"]).unwrap();
        let keys: usize = keys.trim().trim_start_matches(':').parse().unwrap();
        assert!(keys > 0, "master on {port} holds no session: {keys}");
        // The create script ran there, by its text the first time (NOSCRIPT), then by SHA.
        let scripts = command(port, &["INFO", "memory"]).unwrap();
        assert!(
            scripts.contains("number_of_cached_scripts:")
                && !scripts.contains("number_of_cached_scripts:0"),
            "no script cached on {port}"
        );
    }

    let error = backend.user_sessions("ada").await.unwrap_err();
    assert!(error.is_unsupported(), "{error}");
    assert!(error.to_string().contains("Redis Cluster"), "{error}");
    let error = backend.revoke_user_sessions("ada", None).await.unwrap_err();
    assert!(error.is_unsupported(), "{error}");
    drop(cluster);
}
