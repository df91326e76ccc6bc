//! The local cache of the Redis backend (`RedisBackend::local_cache`): the whole backend suite
//! with it on, and what is particular to it, on a `redis-server` of its own (so that its
//! command counts are the test's alone): a cached load costs no command, another client's
//! change or delete reaches it, and a dropped cache connection flushes it.
#![cfg(feature = "redis")]

use crate::backend_suite;
use crate::common;

use std::sync::Arc;
use std::time::{Duration as StdDuration, Instant};

use axum_session_store::{Changes, RedisBackend, SessionBackend, SessionId};
use common::private_redis::PrivateRedis;
use common::servers::{self, Fixture};
use deadpool_redis::redis;
use serde_json::json;
use time::Duration;

async fn cached_redis() -> Option<Fixture> {
    let (backend, _prefix, cleanup) = servers::shared_redis("cached").await?;
    let backend = backend.local_cache(&servers::redis_url(), 10_000).unwrap();
    Some(Fixture::with_cleanup(Arc::new(backend), cleanup))
}

mod suite {
    use super::*;
    backend_suite!(cached_redis);
}

/// A private Redis, a backend on it with the cache, one without (another application
/// server), and a connection to look at the server.
struct TwoServers {
    redis: PrivateRedis,
    cached: RedisBackend,
    other: RedisBackend,
    inspect: redis::aio::MultiplexedConnection,
}

async fn two_servers() -> Option<TwoServers> {
    let redis = PrivateRedis::start(false)?;
    let pool = |url: String| {
        deadpool_redis::Config::from_url(url)
            .create_pool(Some(deadpool_redis::Runtime::Tokio1))
            .unwrap()
    };
    let cached = RedisBackend::new(pool(redis.url()))
        .local_cache(&redis.url(), 100)
        .unwrap();
    let other = RedisBackend::new(pool(redis.url()));
    let inspect = redis::Client::open(redis.url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    Some(TwoServers {
        redis,
        cached,
        other,
        inspect,
    })
}

impl TwoServers {
    /// How many `HGETALL`s the server has run.
    async fn hgetalls(&mut self) -> u64 {
        let info: String = redis::cmd("INFO")
            .arg("commandstats")
            .query_async(&mut self.inspect)
            .await
            .unwrap();
        info.lines()
            .find_map(|line| line.strip_prefix("cmdstat_hgetall:calls="))
            .and_then(|rest| rest.split(',').next())
            .map_or(0, |calls| calls.parse().unwrap())
    }

    /// A record `{"n": 1}` created through the other server.
    async fn record(&self) -> SessionId {
        let id = SessionId::generate().unwrap();
        let record = json!({"n": 1}).as_object().unwrap().clone();
        assert!(self
            .other
            .create(&id, &record, Duration::HOUR)
            .await
            .unwrap());
        id
    }

    /// Loads `id` through the cache until `done` says so, at most 2 s; how long it took.
    async fn until(
        &self,
        id: &SessionId,
        done: impl Fn(Option<&serde_json::Value>) -> bool,
    ) -> StdDuration {
        let start = Instant::now();
        loop {
            let record = self.cached.load(id).await.unwrap();
            if done(record.as_ref().and_then(|r| r.get("n"))) {
                return start.elapsed();
            }
            assert!(
                start.elapsed() < StdDuration::from_secs(2),
                "the cache kept serving {record:?}"
            );
            tokio::task::yield_now().await;
        }
    }
}

#[tokio::test]
async fn a_cached_load_costs_no_command_and_another_servers_writes_reach_it() {
    let Some(mut servers) = two_servers().await else {
        return;
    };
    let id = servers.record().await;
    let before = servers.hgetalls().await;
    for _ in 0..100 {
        let record = servers.cached.load(&id).await.unwrap().unwrap();
        assert_eq!(record["n"], json!(1));
    }
    assert_eq!(
        servers.hgetalls().await - before,
        1,
        "only the first load read Redis"
    );

    let set = Changes {
        set: vec![("n".to_owned(), json!(2))],
        ..Changes::default()
    };
    assert!(servers
        .other
        .apply(&id, &set, Duration::HOUR)
        .await
        .unwrap());
    let changed = servers.until(&id, |n| n == Some(&json!(2))).await;
    servers.other.delete(&id).await.unwrap();
    let deleted = servers.until(&id, |n| n.is_none()).await;
    eprintln!(
        "another server's change was served stale for {changed:?}, its delete for {deleted:?}"
    );
}

#[tokio::test]
async fn this_servers_own_writes_are_seen_by_its_next_load_at_once() {
    let Some(servers) = two_servers().await else {
        return;
    };
    let id = servers.record().await;
    servers.cached.load(&id).await.unwrap();
    let set = Changes {
        set: vec![("n".to_owned(), json!(3))],
        ..Changes::default()
    };
    assert!(servers
        .cached
        .apply(&id, &set, Duration::HOUR)
        .await
        .unwrap());
    let record = servers.cached.load(&id).await.unwrap().unwrap();
    assert_eq!(record["n"], json!(3), "no wait for the invalidation");
    servers.cached.delete(&id).await.unwrap();
    assert_eq!(servers.cached.load(&id).await.unwrap(), None);
}

#[tokio::test]
async fn an_entry_never_outlives_its_records_ttl() {
    let Some(servers) = two_servers().await else {
        return;
    };
    let id = SessionId::generate().unwrap();
    let record = json!({"n": 1}).as_object().unwrap().clone();
    assert!(servers
        .other
        .create(&id, &record, Duration::milliseconds(300))
        .await
        .unwrap());
    assert!(servers.cached.load(&id).await.unwrap().is_some());
    tokio::time::sleep(StdDuration::from_millis(350)).await;
    assert_eq!(servers.cached.load(&id).await.unwrap(), None);
}

#[tokio::test]
async fn a_dropped_cache_connection_flushes_the_cache() {
    let Some(mut servers) = two_servers().await else {
        return;
    };
    let id = servers.record().await;
    servers.cached.load(&id).await.unwrap();
    // The tracking connection is the one with the `t` flag.
    let clients: String = redis::cmd("CLIENT")
        .arg("LIST")
        .query_async(&mut servers.inspect)
        .await
        .unwrap();
    let tracking: Vec<&str> = clients
        .lines()
        .filter(|line| {
            line.split(' ').any(|field| {
                field
                    .strip_prefix("flags=")
                    .is_some_and(|f| f.contains('t'))
            })
        })
        .filter_map(|line| line.split(' ').find_map(|f| f.strip_prefix("id=")))
        .collect();
    assert_eq!(tracking.len(), 1, "one tracking connection: {clients}");
    let _: () = redis::cmd("CLIENT")
        .arg("KILL")
        .arg("ID")
        .arg(tracking[0])
        .query_async(&mut servers.inspect)
        .await
        .unwrap();
    // Written while the cache has no connection to hear of it.
    let set = Changes {
        set: vec![("n".to_owned(), json!(4))],
        ..Changes::default()
    };
    assert!(servers
        .other
        .apply(&id, &set, Duration::HOUR)
        .await
        .unwrap());
    servers.until(&id, |n| n == Some(&json!(4))).await;
    // It reconnected, and caches again.
    let before = servers.hgetalls().await;
    for _ in 0..10 {
        servers.cached.load(&id).await.unwrap();
    }
    assert!(servers.hgetalls().await - before <= 1);
    drop(servers.redis);
}

#[test]
fn a_cluster_or_sentinel_backend_refuses_the_cache() {
    let pool = deadpool_redis::cluster::Config::from_urls(vec!["redis://127.0.0.1:1".to_owned()])
        .create_pool(Some(deadpool_redis::Runtime::Tokio1))
        .unwrap();
    let error = RedisBackend::cluster(pool)
        .local_cache("redis://127.0.0.1:1", 10)
        .unwrap_err();
    assert!(error.is_unsupported(), "{error}");
    let pool = deadpool_redis::Config::from_url("redis://127.0.0.1:1")
        .create_pool(Some(deadpool_redis::Runtime::Tokio1))
        .unwrap();
    assert!(RedisBackend::new(pool)
        .local_cache("not a url", 10)
        .is_err());
}

#[tokio::test]
async fn a_full_cache_makes_room_and_stays_within_its_size() {
    let Some(redis) = PrivateRedis::start(false) else {
        return;
    };
    let pool = deadpool_redis::Config::from_url(redis.url())
        .create_pool(Some(deadpool_redis::Runtime::Tokio1))
        .unwrap();
    let cached = RedisBackend::new(pool)
        .local_cache(&redis.url(), 2)
        .unwrap();
    let mut inspect = redis::Client::open(redis.url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let record = json!({"n": 1}).as_object().unwrap().clone();
    let ids: Vec<SessionId> = (0..3).map(|_| SessionId::generate().unwrap()).collect();
    for id in &ids {
        assert!(cached.create(id, &record, Duration::HOUR).await.unwrap());
        assert!(cached.load(id).await.unwrap().is_some());
    }
    let hgetalls = |info: String| -> u64 {
        info.lines()
            .find_map(|line| line.strip_prefix("cmdstat_hgetall:calls="))
            .and_then(|rest| rest.split(',').next())
            .map_or(0, |calls| calls.parse().unwrap())
    };
    let info = |conn: &mut redis::aio::MultiplexedConnection| {
        let mut cmd = redis::cmd("INFO");
        cmd.arg("commandstats");
        let mut conn = conn.clone();
        async move { cmd.query_async::<String>(&mut conn).await.unwrap() }
    };
    // Of three records, at most two are cached: loading all three again reads at least one.
    let before = hgetalls(info(&mut inspect).await);
    for id in &ids {
        assert_eq!(cached.load(id).await.unwrap(), Some(record.clone()));
    }
    let reads = hgetalls(info(&mut inspect).await) - before;
    assert!((1..=3).contains(&reads), "{reads} reads");
}
