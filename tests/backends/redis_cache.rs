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
    let backend = backend.local_cache(servers::redis_url(), 10_000).unwrap();
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
        .local_cache(redis.url(), 100)
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

    /// A record created through the other server, and cached.
    async fn warm_record(&mut self) -> SessionId {
        let id = self.record().await;
        assert!(
            warm(&self.cached, &id, &mut self.inspect).await,
            "the cache never served a hit"
        );
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
    let id = servers.warm_record().await;
    let before = servers.hgetalls().await;
    for _ in 0..100 {
        let record = servers.cached.load(&id).await.unwrap().unwrap();
        assert_eq!(record["n"], json!(1));
    }
    assert_eq!(servers.hgetalls().await - before, 0, "no load read Redis");

    set_n(&servers.other, &id, 2).await;
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
    set_n(&servers.cached, &id, 3).await;
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
    let id = servers.warm_record().await;
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
    set_n(&servers.other, &id, 4).await;
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

/// A cache must reach what the pool reaches: a backend on a Cluster takes the Cluster's config
/// (not one server's URL), one behind Sentinel the pool's Sentinel config (not one server's
/// URL, which a failover leaves behind), and a single server's backend takes its URL (not a
/// Sentinel or Cluster config).
#[test]
fn a_cache_that_does_not_match_the_backend_is_refused() {
    let url = "redis://127.0.0.1:1";
    let cluster = deadpool_redis::cluster::Config::from_urls(vec![url.to_owned()]);
    let error = RedisBackend::cluster(&cluster)
        .unwrap()
        .local_cache(url, 10)
        .unwrap_err();
    assert!(error.is_unsupported(), "{error}");
    let on_cluster = RedisBackend::cluster(&cluster).unwrap();
    assert!(on_cluster.local_cache(&cluster, 10).is_ok());

    let sentinel_config = deadpool_redis::sentinel::Config::from_urls(
        vec![url.to_owned()],
        "mymaster".to_owned(),
        deadpool_redis::sentinel::SentinelServerType::Master,
    );
    let sentinel = || {
        RedisBackend::sentinel(
            sentinel_config
                .create_pool(Some(deadpool_redis::Runtime::Tokio1))
                .unwrap(),
        )
    };
    let error = sentinel().local_cache(url, 10).unwrap_err();
    assert!(error.is_unsupported(), "{error}");
    assert!(sentinel().local_cache(&sentinel_config, 10).is_ok());

    let single = || {
        RedisBackend::new(
            deadpool_redis::Config::from_url(url)
                .create_pool(Some(deadpool_redis::Runtime::Tokio1))
                .unwrap(),
        )
    };
    let error = single().local_cache(&sentinel_config, 10).unwrap_err();
    assert!(error.is_unsupported(), "{error}");
    let error = single().local_cache(&cluster, 10).unwrap_err();
    assert!(error.is_unsupported(), "{error}");
    assert!(single().local_cache("not a url", 10).is_err());
    assert!(single().local_cache(url.to_owned(), 10).is_ok());
}

#[tokio::test]
async fn a_full_cache_makes_room_and_stays_within_its_size() {
    let Some(redis) = PrivateRedis::start(false) else {
        return;
    };
    let pool = deadpool_redis::Config::from_url(redis.url())
        .create_pool(Some(deadpool_redis::Runtime::Tokio1))
        .unwrap();
    let cached = RedisBackend::new(pool).local_cache(redis.url(), 2).unwrap();
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
        .local_cache(format!("redis://{}", proxy.host_port()), 100)
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
    // A save sent just as it goes silent waits at most the bound too, and is not lost.
    let save = Instant::now();
    set_n(&cached, last, 2).await;
    let saved_in = save.elapsed();
    eprintln!("a save on a connection just gone silent took {saved_in:?}");
    assert!(
        saved_in <= STALENESS_BOUND + StdDuration::from_millis(500),
        "a save waited {saved_in:?} for the silent connection"
    );
    let mut inspect_save = inspect.clone();
    let stored: i64 = redis::cmd("HGET")
        .arg(format!("session:{}", last.as_str()))
        .arg("d:n")
        .query_async(&mut inspect_save)
        .await
        .unwrap();
    assert_eq!(stored, 2);
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

/// Sets `n` to `value` in the record `id` through `backend`, which must find it.
async fn set_n(backend: &RedisBackend, id: &SessionId, value: i64) {
    let set = Changes::new().set("n".to_owned(), json!(value));
    assert!(backend.apply(id, &set, Duration::HOUR).await.unwrap());
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
pub(crate) async fn warm(
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

/// Makes the server behind `inspect` log every command its clients send (not those scripts
/// run) in its slow log, from now on.
pub(crate) async fn log_commands(inspect: &mut redis::aio::MultiplexedConnection) {
    for (parameter, value) in [
        ("slowlog-log-slower-than", "0"),
        ("slowlog-max-len", "100000"),
    ] {
        let _: () = redis::cmd("CONFIG")
            .arg("SET")
            .arg(parameter)
            .arg(value)
            .query_async(inspect)
            .await
            .unwrap();
    }
    let _: () = redis::cmd("SLOWLOG")
        .arg("RESET")
        .query_async(inspect)
        .await
        .unwrap();
}

/// How many commands named `command` clients sent since `log_commands` (a script's own
/// commands, logged from the client `?:0`, are not counted).
pub(crate) async fn sent(inspect: &mut redis::aio::MultiplexedConnection, command: &str) -> usize {
    let log: Vec<redis::Value> = redis::cmd("SLOWLOG")
        .arg("GET")
        .arg(-1)
        .query_async(inspect)
        .await
        .unwrap();
    log.into_iter()
        .filter(|entry| {
            let redis::Value::Array(fields) = entry else {
                return false;
            };
            let name = match fields.get(3) {
                Some(redis::Value::Array(args)) => args
                    .first()
                    .and_then(|name| redis::from_redis_value::<String>(name.clone()).ok()),
                _ => None,
            };
            let client = fields
                .get(4)
                .and_then(|client| redis::from_redis_value::<String>(client.clone()).ok());
            name.is_some_and(|name| name.eq_ignore_ascii_case(command))
                && client.is_some_and(|client| client != "?:0")
        })
        .count()
}

/// A request that reads its session and changes it costs one command with the cache on: the
/// load is a hit, and the save leaves the entry holding what it wrote (not dropped, which made
/// the next load a second round trip).
#[tokio::test]
async fn a_read_modify_write_costs_one_command_and_keeps_its_entry() {
    let Some(mut servers) = two_servers().await else {
        return;
    };
    let id = servers.warm_record().await;
    // The first save may re-read what the cache read before (its tracking starts over).
    set_n(&servers.cached, &id, 1).await;
    servers.cached.load(&id).await.unwrap();
    log_commands(&mut servers.inspect).await;
    for n in 2..22 {
        let record = servers.cached.load(&id).await.unwrap().unwrap();
        assert_eq!(record["n"], json!(n - 1));
        set_n(&servers.cached, &id, n).await;
    }
    let saves = sent(&mut servers.inspect, "evalsha").await;
    let loads = sent(&mut servers.inspect, "hgetall").await;
    assert_eq!(saves, 20, "20 read-modify-writes sent {saves} scripts");
    assert_eq!(loads, 0, "a load after this server's own save read Redis");
    // What the cache serves is what Redis holds.
    let stored: String = redis::cmd("HGET")
        .arg(format!("session:{}", id.as_str()))
        .arg("d:n")
        .query_async(&mut servers.inspect)
        .await
        .unwrap();
    assert_eq!(stored, "21");
    // Another server's change still reaches the entry this server's save left.
    set_n(&servers.other, &id, 100).await;
    servers.until(&id, |n| n == Some(&json!(100))).await;
}

/// This server's saves and another server's, racing on one record (and this server's loads
/// beside them): once the writes are done, the cache comes to serve what Redis holds and keeps
/// serving it. An own save's entry put in after another server's later change (whose
/// invalidation it would outlive) would be served for ever: this is the ordering the cache
/// must keep.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_servers_change_always_wins_over_an_own_save_it_follows() {
    let Some(mut servers) = two_servers().await else {
        return;
    };
    let id = servers.record().await;
    let key = format!("session:{}", id.as_str());
    for round in 0..40 {
        let own = async {
            for n in 0..8 {
                set_n(&servers.cached, &id, round * 100 + n).await;
                servers.cached.load(&id).await.unwrap();
            }
        };
        let concurrent_own = async {
            for n in 0..8 {
                set_n(&servers.cached, &id, round * 100 + 50 + n).await;
            }
        };
        let other = async {
            for n in 0..4 {
                set_n(&servers.other, &id, -(round * 100 + n)).await;
                tokio::task::yield_now().await;
            }
        };
        tokio::join!(own, concurrent_own, other);
        let stored: i64 = redis::cmd("HGET")
            .arg(&key)
            .arg("d:n")
            .query_async(&mut servers.inspect)
            .await
            .unwrap();
        servers.until(&id, |n| n == Some(&json!(stored))).await;
        tokio::time::sleep(StdDuration::from_millis(20)).await;
        for _ in 0..5 {
            let record = servers.cached.load(&id).await.unwrap().unwrap();
            assert_eq!(
                record["n"],
                json!(stored),
                "round {round}: the cache went back"
            );
        }
    }
}
