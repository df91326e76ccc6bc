//! The local cache of the Redis backend (`RedisBackend::local_cache`): the whole backend suite
//! with it on, and what is particular to it, on a `redis-server` of its own (so that its
//! command counts are the test's alone): a cached load costs no command, another client's
//! change or delete reaches it, and a dropped cache connection flushes it.
#![cfg(feature = "redis")]

use crate::backend_suite;
use crate::common;

use std::sync::Arc;
use std::time::{Duration as StdDuration, Instant};

use axum_session_store::backend::{Changes, RedisBackend};
use axum_session_store::{SessionBackend, SessionId};
use common::blackhole::BlackholeProxy;
use common::private_redis::PrivateRedis;
use common::servers::{self, Fixture};
use deadpool_redis::redis;
use serde_json::json;
use time::Duration;

async fn cached_redis() -> Option<Fixture> {
    let (backend, _prefix, cleanup) = servers::shared_redis("cached").await?;
    let backend = backend.local_cache(&servers::redis_url(), 10_000).unwrap();
    Some(Fixture::with_cleanup(Arc::new(backend), cleanup).caching_loads())
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
        hgetalls(&mut self.inspect).await
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
    assert!(
        warm(&servers.cached, &id, &mut servers.inspect).await,
        "the cache never served a hit"
    );
    let before = servers.hgetalls().await;
    for _ in 0..100 {
        let record = servers.cached.load(&id).await.unwrap().unwrap();
        assert_eq!(record["n"], json!(1));
    }
    assert_eq!(servers.hgetalls().await - before, 0, "no load read Redis");

    let set = Changes::new().set("n".to_owned(), json!(2));
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
    let set = Changes::new().set("n".to_owned(), json!(3));
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
    assert!(
        warm(&servers.cached, &id, &mut servers.inspect).await,
        "the cache never served a hit"
    );
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
    let set = Changes::new().set("n".to_owned(), json!(4));
    assert!(servers
        .other
        .apply(&id, &set, Duration::HOUR)
        .await
        .unwrap());
    servers.until(&id, |n| n == Some(&json!(4))).await;
    // It reconnects, and caches again.
    assert!(
        warm(&servers.cached, &id, &mut servers.inspect).await,
        "the cache never served a hit again"
    );
    let before = servers.hgetalls().await;
    for _ in 0..10 {
        servers.cached.load(&id).await.unwrap();
    }
    assert_eq!(servers.hgetalls().await - before, 0);
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
    }
    assert!(
        warm(&cached, &ids[0], &mut inspect).await,
        "the cache never served a hit"
    );
    for id in &ids {
        assert!(cached.load(id).await.unwrap().is_some());
    }
    // Of three records, at most two are cached: loading all three again reads at least one.
    let before = hgetalls(&mut inspect).await;
    for id in &ids {
        assert_eq!(cached.load(id).await.unwrap(), Some(record.clone()));
    }
    let reads = hgetalls(&mut inspect).await - before;
    assert!((1..=3).contains(&reads), "{reads} reads");
}

/// How long after its tracking connection goes silent the cache may still serve what it holds
/// (the bound the README states).
const STALENESS_BOUND: StdDuration = StdDuration::from_secs(1);

/// With the cache's own connection silent (a partition, an expired NAT entry: the socket stays
/// open and nothing comes through), a record another server deleted is served no later than
/// the bound after the silence began, misses do not wait for the dead connection, and once
/// the network heals the cache serves hits without commands again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_cache_connection_serves_nothing_past_the_bound() {
    let Some(redis) = PrivateRedis::start(false) else {
        return;
    };
    let proxy = BlackholeProxy::start(format!("127.0.0.1:{}", redis.port).parse().unwrap()).await;
    let pool = |url: String| {
        deadpool_redis::Config::from_url(url)
            .create_pool(Some(deadpool_redis::Runtime::Tokio1))
            .unwrap()
    };
    let cached = RedisBackend::new(pool(redis.url()))
        .local_cache(&format!("redis://{}", proxy.host_port()), 100)
        .unwrap();
    let other = RedisBackend::new(pool(redis.url()));
    let mut inspect = redis::Client::open(redis.url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let record = json!({"n": 1}).as_object().unwrap().clone();
    let ids: Vec<SessionId> = (0..3).map(|_| SessionId::generate().unwrap()).collect();
    for id in &ids {
        assert!(other.create(id, &record, Duration::HOUR).await.unwrap());
    }
    let (deleted, missed, last) = (&ids[0], &ids[1], &ids[2]);
    assert!(
        warm(&cached, deleted, &mut inspect).await,
        "the cache never served a hit"
    );

    // Silent: a delete elsewhere is served at most the bound, and then loads go to Redis.
    proxy.go_black();
    let silent = Instant::now();
    other.delete(deleted).await.unwrap();
    let (mut last_stale, mut loads, mut slowest_miss) = (None, 0, StdDuration::ZERO);
    while silent.elapsed() < 3 * STALENESS_BOUND {
        let started = Instant::now();
        let loaded = cached.load(deleted).await.unwrap();
        loads += 1;
        match loaded {
            // When the load began: it decided no earlier.
            Some(_) => last_stale = Some(started - silent),
            None => slowest_miss = slowest_miss.max(started.elapsed()),
        }
        tokio::time::sleep(StdDuration::from_millis(5)).await;
    }
    eprintln!(
        "silent cache connection: the deleted record was last served by a load begun \
         {last_stale:?} after the silence began ({loads} loads over 3 s); the slowest miss took {slowest_miss:?}"
    );
    assert!(
        last_stale.is_none_or(|at| at <= STALENESS_BOUND),
        "a load begun {last_stale:?} after the connection went silent served the deleted record"
    );
    assert!(
        slowest_miss < StdDuration::from_millis(500),
        "a miss waited {slowest_miss:?} for the silent connection"
    );

    // Healed, then silent again: a miss sent just as it goes silent waits at most the bound.
    proxy.heal();
    let healed = Instant::now();
    assert!(
        warm(&cached, last, &mut inspect).await,
        "the cache never served a hit after the network healed"
    );
    eprintln!(
        "the cache served hits again {:?} after the heal",
        healed.elapsed()
    );
    proxy.go_black();
    let miss = Instant::now();
    assert!(cached.load(missed).await.unwrap().is_some());
    let first_miss = miss.elapsed();
    eprintln!("a miss on a connection just gone silent took {first_miss:?}");
    assert!(
        first_miss <= STALENESS_BOUND + StdDuration::from_millis(500),
        "a miss waited {first_miss:?} for the silent connection"
    );

    // Healed again: hits cost no command, and another server's delete reaches the cache.
    proxy.heal();
    assert!(
        warm(&cached, last, &mut inspect).await,
        "the cache never served a hit after the network healed"
    );
    let before = hgetalls(&mut inspect).await;
    for _ in 0..10 {
        assert!(cached.load(last).await.unwrap().is_some());
    }
    assert_eq!(
        hgetalls(&mut inspect).await - before,
        0,
        "hits cost no command"
    );
    other.delete(last).await.unwrap();
    let start = Instant::now();
    while cached.load(last).await.unwrap().is_some() {
        assert!(
            start.elapsed() < STALENESS_BOUND,
            "the delete never reached the cache"
        );
        tokio::task::yield_now().await;
    }
    other.delete(missed).await.unwrap();
}

/// How many `HGETALL`s the server behind `inspect` has run.
async fn hgetalls(inspect: &mut redis::aio::MultiplexedConnection) -> u64 {
    let info: String = redis::cmd("INFO")
        .arg("commandstats")
        .query_async(inspect)
        .await
        .unwrap();
    info.lines()
        .find_map(|line| line.strip_prefix("cmdstat_hgetall:calls="))
        .and_then(|rest| rest.split(',').next())
        .map_or(0, |calls| calls.parse().unwrap())
}

/// Loads `id` through `cached` until a load costs no command (a hit), for at most 5 s;
/// whether it got there.
async fn warm(
    cached: &RedisBackend,
    id: &SessionId,
    inspect: &mut redis::aio::MultiplexedConnection,
) -> bool {
    let start = Instant::now();
    while start.elapsed() < StdDuration::from_secs(5) {
        assert!(cached.load(id).await.unwrap().is_some());
        let before = hgetalls(inspect).await;
        assert!(cached.load(id).await.unwrap().is_some());
        if hgetalls(inspect).await == before {
            return true;
        }
        tokio::time::sleep(StdDuration::from_millis(20)).await;
    }
    false
}
