//! The backend suite against a real Redis Cluster of its own (three masters, three replicas
//! from `redis-server`, on loopback ports, stopped when the test ends), and what is particular
//! to a cluster: records spread over every master, scripts found on each, and a user's
//! sessions, which a cluster cannot revoke atomically, answered as unsupported.
#![cfg(feature = "redis")]

use crate::common::UserIds;
use std::sync::Arc;
use std::time::{Duration as StdDuration, Instant};

use axum_session_store::backend::UserIndex;
use axum_session_store::backend::{ApplyItem, Batching, Changes, Record, RedisBackend};
use axum_session_store::{SessionBackend, SessionId};
use serde_json::json;
use time::Duration;

use crate::backend_suite_in_one_test;
use crate::common::redis_cluster::{command, RedisCluster};
use crate::common::servers::{self, Fixture};

/// A cluster of its own and a backend on it (under a fresh prefix); `None` when
/// `redis-server` or `redis-cli` is missing and tests may skip.
async fn cluster_backend() -> Option<(RedisCluster, RedisBackend)> {
    cluster_backend_under(format!("{}:", servers::unique_name("cluster"))).await
}

/// A cluster of its own and a backend on it whose keys start with `prefix`.
async fn cluster_backend_under(prefix: String) -> Option<(RedisCluster, RedisBackend)> {
    let cluster = tokio::task::spawn_blocking(RedisCluster::start)
        .await
        .unwrap()?;
    let backend = RedisBackend::cluster(&cluster.config())
        .unwrap()
        .key_prefix(prefix);
    Some((cluster, backend))
}

/// The ids of `count` new records `record`.
async fn created(backend: &RedisBackend, record: &Record, count: usize) -> Vec<SessionId> {
    let mut ids = Vec::with_capacity(count);
    for _ in 0..count {
        let id = SessionId::generate().unwrap();
        assert!(backend.create(&id, record, Duration::HOUR).await.unwrap());
        ids.push(id);
    }
    ids
}

/// A cluster, a backend on it whose keys carry the hash tag `{tag}` (one slot), 40 records
/// `{"n": 0}` there, and that slot.
async fn forty_in_one_slot(tag: &str) -> Option<(RedisCluster, RedisBackend, Vec<SessionId>, u16)> {
    let prefix = format!("{{{tag}}}:{}:", servers::unique_name("cluster"));
    let (cluster, backend) = cluster_backend_under(prefix.clone()).await?;
    let slot = cluster.key_slot(&prefix);
    let record: Record = serde_json::from_value(json!({"n": 0})).unwrap();
    let ids = created(&backend, &record, 40).await;
    Some((cluster, backend, ids, slot))
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

async fn cached_cluster_fixture() -> Option<Fixture> {
    let (cluster, backend) = cluster_backend().await?;
    let backend = backend.local_cache(&cluster.config(), 10_000).unwrap();
    Some(Fixture::with_cleanup(Arc::new(backend), move || {
        drop(cluster)
    }))
}

backend_suite_in_one_test!(
    the_backend_suite_on_a_redis_cluster_with_the_local_cache,
    cached_cluster_fixture,
    without_users
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_spread_over_every_master_with_the_scripts_on_each() {
    let Some((cluster, backend)) = cluster_backend().await else {
        return;
    };
    let record: Record = serde_json::from_value(json!({"a": 1})).unwrap();
    let ids = created(&backend, &record, 60).await;
    for id in &ids {
        assert_eq!(backend.load(id).await.unwrap().as_ref(), Some(&record));
    }
    let masters = masters(&cluster);
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

    let error = backend.user_ids("ada").await.unwrap_err();
    assert!(error.is_unsupported(), "{error}");
    assert!(error.to_string().contains("Redis Cluster"), "{error}");
    let error = backend.revoke_user_sessions("ada", None).await.unwrap_err();
    assert!(error.is_unsupported(), "{error}");
    drop(cluster);
}

/// A slot half moved between two masters, under many concurrent loads and changes: the
/// cluster client sends `ASKING` and the redirected command as two requests on a shared
/// connection, so another request's command can take the flag; the new owner then answers
/// `MOVED` back to the old one, which answers `ASK` again, until the client's retries (each
/// `MOVED` a slot refresh that stalls every request) run past the backend's timeout. The
/// backend sends every command behind its own `ASKING`, and no request fails.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_half_migrated_slot_under_concurrent_requests_fails_none() {
    let Some((cluster, backend, ids, slot)) = forty_in_one_slot("halfway").await else {
        return;
    };
    let backend = Arc::new(backend);
    let migration = cluster.begin_migration(slot, cluster.another_master(slot));
    assert_eq!(migration.move_keys(20), 20, "half the keys moved");

    let ids = Arc::new(ids);
    let mut tasks = tokio::task::JoinSet::new();
    for task in 0..32 {
        let (backend, ids) = (Arc::clone(&backend), Arc::clone(&ids));
        tasks.spawn(async move {
            let mut failures = Vec::new();
            for round in 0..60 {
                let id = &ids[(task + round) % ids.len()];
                if round % 2 == 1 {
                    let changes = Changes::new().set(format!("task{task}"), json!(round));
                    match backend.apply(id, &changes, Duration::HOUR).await {
                        Ok(true) => {}
                        Ok(false) => failures.push(format!("{id:?}: gone on apply")),
                        Err(error) => failures.push(format!("apply: {error:#}")),
                    }
                    continue;
                }
                match backend.load(id).await {
                    Ok(Some(_)) => {}
                    Ok(None) => failures.push(format!("{id:?}: gone")),
                    Err(error) => failures.push(format!("load: {error:#}")),
                }
            }
            failures
        });
    }
    let mut failures = Vec::new();
    while let Some(result) = tasks.join_next().await {
        failures.extend(result.unwrap());
    }
    migration.finish();
    for id in ids.iter() {
        // Now behind a `MOVED`, which the client follows.
        let record = backend
            .load(id)
            .await
            .unwrap()
            .expect("kept through the migration");
        assert!(
            record.len() > 1,
            "a change applied during the migration was kept"
        );
    }
    assert!(
        failures.is_empty(),
        "{} of 1,920 operations failed: {:?}",
        failures.len(),
        &failures[..failures.len().min(5)]
    );
    drop(cluster);
}

/// The masters' ports.
fn masters(cluster: &RedisCluster) -> Vec<u16> {
    cluster
        .nodes
        .iter()
        .map(|node| node.port)
        .filter(|&port| {
            command(port, &["ROLE"]).is_some_and(|role| role.lines().nth(1) == Some("master"))
        })
        .collect()
}

/// The number after `prefix` (up to a `,` or the line's end) in the `INFO section` of the
/// node at `port`; 0 when no line has it (a command never run).
fn info_number(port: u16, section: &str, prefix: &str) -> u64 {
    let info = command(port, &["INFO", section]).unwrap();
    info.lines()
        .find_map(|line| line.strip_prefix(prefix))
        .and_then(|rest| rest.split(',').next())
        .map_or(0, |number| number.trim().parse().unwrap())
}

/// How many times each of `ports` has read from a client socket so far (`INFO stats`): a
/// pipeline that arrives at once is one read, commands sent one after another one each.
fn socket_reads(ports: &[u16]) -> Vec<u64> {
    ports
        .iter()
        .map(|&port| info_number(port, "stats", "total_reads_processed:"))
        .collect()
}

/// Sets `n` in every record of `ids` with one batch of saves, and reads it back from every one
/// with one batch of loads.
async fn set_all(backend: &RedisBackend, ids: &[SessionId], n: u32) {
    save_all(backend, ids, n).await;
    for loaded in backend.load_many(ids).await {
        assert_eq!(loaded.unwrap().expect("a record").get("n"), Some(&json!(n)));
    }
}

/// Sets `n` in every record of `ids` with one batch of saves.
async fn save_all(backend: &RedisBackend, ids: &[SessionId], n: u32) {
    let changes = Changes::new().set("n", json!(n));
    let items: Vec<ApplyItem> = ids
        .iter()
        .map(|id| ApplyItem::new(id.clone(), changes.clone(), Duration::HOUR))
        .collect();
    let applied = backend.apply_many(&items).await;
    assert!(
        applied.iter().all(|applied| matches!(applied, Ok(true))),
        "{applied:?}"
    );
}

/// A batch of saves, then one of loads, go to each master as one pipeline: each master reads
/// them in one or two socket reads (and perhaps a replica's once-a-second acknowledgement),
/// where 36 saves sent one after another took some 12 reads on each master.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_goes_to_each_master_as_one_pipeline() {
    let Some((cluster, backend)) = cluster_backend().await else {
        return;
    };
    let record: Record = serde_json::from_value(json!({"n": 0})).unwrap();
    let ids = created(&backend, &record, 36).await;
    let masters = masters(&cluster);
    // The first batch reads the slot map, connects, and loads the script where it is missing.
    set_all(&backend, &ids, 1).await;

    let before = socket_reads(&masters);
    set_all(&backend, &ids, 2).await;
    let after = socket_reads(&masters);
    for ((port, before), after) in masters.iter().zip(before).zip(after) {
        let reads = after - before;
        assert!(
            reads <= 6,
            "master {port}: {reads} reads for a batch of saves and one of loads"
        );
    }
    drop(cluster);
}

/// A batch across a slot in the middle of a move: the keys still on the old master are
/// changed in its pipeline, the moved ones (`ASK`) again on their own; once the move is done
/// (`MOVED`, a stale slot map), the batch goes through again, and nothing is lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_across_a_moving_slot_loses_nothing() {
    let Some((cluster, backend, ids, slot)) = forty_in_one_slot("batched").await else {
        return;
    };
    set_all(&backend, &ids, 1).await;
    let migration = cluster.begin_migration(slot, cluster.another_master(slot));
    assert_eq!(migration.move_keys(20), 20, "half the keys moved");
    set_all(&backend, &ids, 2).await;
    migration.finish();
    set_all(&backend, &ids, 3).await;
    drop(cluster);
}

/// How many `HGETALL`s the masters at `ports` have run, together (`INFO commandstats`).
fn hgetalls(ports: &[u16]) -> u64 {
    ports
        .iter()
        .map(|&port| info_number(port, "commandstats", "cmdstat_hgetall:calls="))
        .sum()
}

/// Loads `ids` through `cached` until a batch of loads costs the masters no `HGETALL` (every
/// master's cache trusts its connection and holds its keys), at most 5 s.
async fn warm(cached: &RedisBackend, ids: &[SessionId], masters: &[u16]) {
    let start = Instant::now();
    loop {
        let before = hgetalls(masters);
        for loaded in cached.load_many(ids).await {
            loaded.unwrap().expect("a record");
        }
        if hgetalls(masters) == before {
            return;
        }
        assert!(
            start.elapsed() < StdDuration::from_secs(5),
            "the caches never served every load"
        );
        tokio::time::sleep(StdDuration::from_millis(20)).await;
    }
}

/// Loads `ids` through `cached` until every record holds `n`, at most 2 s (the staleness
/// bound is 1 s; an invalidation takes one hop); how long it took.
async fn until_all(cached: &RedisBackend, ids: &[SessionId], n: u32) -> StdDuration {
    let start = Instant::now();
    loop {
        let loaded = cached.load_many(ids).await;
        let stale: Vec<_> = loaded
            .iter()
            .filter(|loaded| {
                loaded
                    .as_ref()
                    .unwrap()
                    .as_ref()
                    .and_then(|record| record.get("n"))
                    != Some(&json!(n))
            })
            .collect();
        if stale.is_empty() {
            return start.elapsed();
        }
        assert!(
            start.elapsed() < StdDuration::from_secs(2),
            "the caches kept serving {} stale records, e.g. {:?}",
            stale.len(),
            stale[0]
        );
        tokio::task::yield_now().await;
    }
}

/// With a local cache per master, a batch of loads of cached records costs the masters no
/// command, and another server's changes (a batch through a backend without the cache)
/// reach every master's cache.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_master_caches_its_keys_and_another_servers_changes_reach_it() {
    let Some((cluster, other)) = cluster_backend().await else {
        return;
    };
    let cached = other
        .clone()
        .local_cache(&cluster.config(), 10_000)
        .unwrap();
    let record: Record = serde_json::from_value(json!({"n": 0})).unwrap();
    let ids = created(&other, &record, 36).await;
    let masters = masters(&cluster);
    warm(&cached, &ids, &masters).await;

    set_all(&other, &ids, 1).await;
    let changed = until_all(&cached, &ids, 1).await;
    // Its own saves keep the entries current: the loads that follow cost nothing. (A cache
    // whose connection a starved machine kept from answering its `PING` in time is flushed,
    // and misses; one round of five must show it.)
    let mut misses = Vec::new();
    for n in 2..7 {
        save_all(&cached, &ids, n).await;
        let before = hgetalls(&masters);
        until_all(&cached, &ids, n).await;
        misses.push(hgetalls(&masters) - before);
        if misses.last() == Some(&0) {
            break;
        }
    }
    assert_eq!(
        misses.last(),
        Some(&0),
        "loads after its own saves read Redis: {misses:?}"
    );
    for id in &ids {
        other.delete(id).await.unwrap();
    }
    let start = Instant::now();
    while cached
        .load_many(&ids)
        .await
        .iter()
        .any(|loaded| !matches!(loaded, Ok(None)))
    {
        assert!(
            start.elapsed() < StdDuration::from_secs(2),
            "a deleted record was served"
        );
        tokio::task::yield_now().await;
    }
    eprintln!(
        "another server's changes were served stale for {changed:?}; HGETALLs of the loads \
         after each round of own saves: {misses:?}"
    );
    drop(cluster);
}

/// A slot that moves while its keys are cached: the move deletes them on the old master,
/// whose cache drops them; reads and saves of moved keys go through the pool, and no cache
/// serves what another server changed, during the move or after it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slot_that_moves_under_a_warm_cache_serves_nothing_stale() {
    let Some((cluster, other, ids, slot)) = forty_in_one_slot("cachedmove").await else {
        return;
    };
    let cached = other
        .clone()
        .local_cache(&cluster.config(), 10_000)
        .unwrap();
    warm(&cached, &ids, &masters(&cluster)).await;
    let migration = cluster.begin_migration(slot, cluster.another_master(slot));
    assert_eq!(migration.move_keys(20), 20, "half the keys moved");
    set_all(&other, &ids, 1).await;
    until_all(&cached, &ids, 1).await;
    set_all(&cached, &ids, 2).await;
    until_all(&other, &ids, 2).await;
    migration.finish();
    set_all(&other, &ids, 3).await;
    until_all(&cached, &ids, 3).await;
    set_all(&cached, &ids, 4).await;
    until_all(&other, &ids, 4).await;
    drop(cluster);
}

/// A `MigratingBackend` from a Cluster drains it master after master: every idle session moves,
/// with the time it had left.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_drain_moves_every_idle_session_from_a_cluster() {
    let Some((cluster, backend)) = cluster_backend().await else {
        return;
    };
    crate::migrating::drains_every_session(backend).await;
    tokio::task::spawn_blocking(move || drop(cluster))
        .await
        .unwrap();
}
