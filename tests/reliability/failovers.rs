//! Redis beyond one server, under load: a Cluster slot migrated while requests use it
//! (redirections followed, nothing fails), a Cluster master killed and its replica promoted, a
//! Sentinel master killed and its replica promoted (requests fail cleanly until then, succeed
//! again after; with `wait_for_replicas`, no acknowledged write is lost). Each test starts its
//! servers on loopback ports and stops them at the end.
#![cfg(feature = "redis")]

use std::time::Duration;

use axum_session_store::backend::RedisBackend;
use axum_session_store::SessionConfig;
use deadpool_redis::Runtime;

use crate::common::redis_cluster::{command, wait_until, RedisCluster};
use crate::common::redis_sentinel::{RedisSentinel, MASTER_NAME};
use crate::common::servers;
use crate::restarts::{disturbance_under_load, restart_under_load, Restartable};
use crate::targets::builder;

/// Every operation fails within this, so that no request outlasts the harness's limit while a
/// node is down (the cluster client would retry it for much longer).
const OPERATION_TIMEOUT: time::Duration = time::Duration::seconds(2);

/// A write counts once the replica has it.
const REPLICA_WAIT: time::Duration = time::Duration::seconds(1);

fn config_on(backend: RedisBackend) -> SessionConfig {
    builder().default_backend(backend).build().unwrap()
}

/// A cluster and a backend on it whose every key carries the hash tag `{tag}`, so that all the
/// test's sessions live in the one slot the test disturbs; and that slot.
async fn cluster_with_one_slot(tag: &str) -> Option<(RedisCluster, RedisBackend, u16)> {
    let cluster = tokio::task::spawn_blocking(RedisCluster::start)
        .await
        .unwrap()?;
    let prefix = format!("{{{tag}}}:{}:", servers::unique_name("sessions"));
    let slot = cluster.key_slot(&prefix);
    let backend = RedisBackend::cluster(&cluster.config())
        .unwrap()
        .key_prefix(prefix)
        .timeout(OPERATION_TIMEOUT);
    Some((cluster, backend, slot))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "reliability: long-running; .ci/run runs them"]
async fn a_cluster_slot_migrated_under_load_fails_no_request() {
    let Some((cluster, backend, slot)) = cluster_with_one_slot("migrated").await else {
        return;
    };
    let from = cluster.master_of(slot);
    let to = cluster.another_master(slot);
    disturbance_under_load("Cluster slot migration", config_on(backend), || {
        let moved = cluster.migrate_slot(slot, to);
        assert_eq!(cluster.master_of(slot), to, "the slot moved");
        format!("slot {slot} moved with {moved} keys from node {from} to node {to}")
    })
    .await;
}

/// The master of one slot of a cluster, killed and replaced by its replica.
struct ClusterMaster {
    cluster: RedisCluster,
    slot: u16,
    killed: Option<usize>,
}

impl Restartable for ClusterMaster {
    fn crash(&mut self) {
        let master = self.cluster.master_of(self.slot);
        self.cluster.nodes[master].kill();
        self.killed = Some(master);
    }

    /// Waits for the replica's promotion, then starts the old master again, which rejoins as
    /// the new master's replica, and waits until it has caught up.
    fn start_again(&mut self) {
        let killed = self.killed.take().expect("a killed master");
        wait_until(Duration::from_secs(60), "the replica is promoted", || {
            self.cluster
                .master_of_now(self.slot)
                .is_some_and(|master| master != killed)
        });
        self.cluster.nodes[killed].restart();
        self.cluster.wait_until_ok();
        let master = self.cluster.master_of(self.slot);
        let port = self.cluster.nodes[master].port;
        wait_until(
            Duration::from_secs(60),
            "the old master replicates the new",
            || {
                command(port, &["INFO", "replication"]).is_some_and(|info| {
                    info.contains("connected_slaves:1") && info.contains("online")
                })
            },
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "reliability: long-running; .ci/run runs them"]
async fn a_cluster_master_killed_under_load_fails_cleanly_and_loses_no_acknowledged_write() {
    cluster_failover_under_load("Cluster failover", "failover", |backend, _| backend).await;
}

/// The same failover with the local cache on and warm: the dead master's cache loses its
/// connection and is flushed, the promoted replica gets a cache of its own, and what the app
/// reads back after (through the caches) is what the new master holds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "reliability: long-running; .ci/run runs them"]
async fn a_cluster_failover_with_the_local_cache_warm_loses_nothing_and_serves_nothing_stale() {
    cluster_failover_under_load(
        "Cluster failover, local cache on",
        "cached",
        |backend, config| backend.local_cache(config, 10_000).unwrap(),
    )
    .await;
}

/// `restart_under_load` of a cluster of its own whose master of the test's slot (the hash tag
/// `{tag}`) is killed, through the backend that `set_up` makes of a plain one (every write
/// acknowledged by a replica) and the cluster's config.
async fn cluster_failover_under_load(
    label: &str,
    tag: &str,
    set_up: impl FnOnce(RedisBackend, &deadpool_redis::cluster::Config) -> RedisBackend,
) {
    let Some((cluster, backend, slot)) = cluster_with_one_slot(tag).await else {
        return;
    };
    let backend = set_up(
        backend.wait_for_replicas(1, REPLICA_WAIT),
        &cluster.config(),
    );
    let mut server = ClusterMaster {
        cluster,
        slot,
        killed: None,
    };
    restart_under_load(label, "Redis", config_on(backend), &mut server).await;
}

/// A Sentinel deployment whose master is killed and replaced by its replica.
struct SentinelMaster {
    deployment: RedisSentinel,
    killed: Option<u16>,
}

impl Restartable for SentinelMaster {
    fn crash(&mut self) {
        self.killed = Some(self.deployment.kill_master());
    }

    fn start_again(&mut self) {
        let old = self.killed.take().expect("a killed master");
        let new = self.deployment.wait_for_new_master(old);
        self.deployment.restart_killed(new);
        self.deployment.wait_until_replicated();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "reliability: long-running; .ci/run runs them"]
async fn a_sentinel_master_killed_under_load_fails_cleanly_and_loses_no_acknowledged_write() {
    sentinel_failover_under_load("Sentinel failover", |backend, _| backend).await;
}

/// The same failover with the local cache on and warm: the cache's connection dies with the
/// master, the cache is flushed and reconnects to the promoted replica, and what it serves
/// after is what the new master holds (`restart_under_load` reads every session back through
/// the app, so through the cache): no acknowledged write is lost, none is served stale.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "reliability: long-running; .ci/run runs them"]
async fn a_sentinel_failover_with_the_local_cache_warm_loses_nothing_and_serves_nothing_stale() {
    sentinel_failover_under_load("Sentinel failover, local cache on", |backend, config| {
        backend.local_cache(config, 10_000).unwrap()
    })
    .await;
}

/// `restart_under_load` of a Sentinel deployment of its own whose master is killed, through
/// the backend on it that `set_up` makes of a plain one and the pool's config.
async fn sentinel_failover_under_load(
    label: &str,
    set_up: impl FnOnce(RedisBackend, &deadpool_redis::sentinel::Config) -> RedisBackend,
) {
    let Some(deployment) = tokio::task::spawn_blocking(RedisSentinel::start)
        .await
        .unwrap()
    else {
        return;
    };
    let backend = set_up(sentinel_backend(&deployment), &sentinel_config(&deployment));
    let mut server = SentinelMaster {
        deployment,
        killed: None,
    };
    restart_under_load(label, "Redis", config_on(backend), &mut server).await;
}

/// The config of a pool on `deployment`'s master.
fn sentinel_config(deployment: &RedisSentinel) -> deadpool_redis::sentinel::Config {
    deadpool_redis::sentinel::Config::from_urls(
        deployment.sentinel_urls(),
        MASTER_NAME.to_owned(),
        deadpool_redis::sentinel::SentinelServerType::Master,
    )
}

/// A backend on `deployment`'s master, every write acknowledged by the replica.
fn sentinel_backend(deployment: &RedisSentinel) -> RedisBackend {
    let pool = sentinel_config(deployment)
        .create_pool(Some(Runtime::Tokio1))
        .unwrap();
    RedisBackend::sentinel(pool)
        .key_prefix(format!("{}:", servers::unique_name("sentinel")))
        .timeout(OPERATION_TIMEOUT)
        .wait_for_replicas(1, REPLICA_WAIT)
}
