//! The shared backend suite against Redis, plus what is particular to it: the hash layout, the
//! TTL, atomic scripts, corrupt records, and a Redis outage with recovery.
//!
//! Uses the Redis at `REDIS_URL` (default `redis://127.0.0.1:6379`) under a unique key prefix
//! per test, and for the outage test a `redis-server` of its own on a free port.
#![cfg(feature = "redis")]

use crate::backend_suite;
use crate::common;
use common::UserIds;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration as StdDuration, Instant};

use axum_session_store::backend::UserIndex;
use axum_session_store::backend::{Changes, Record, RedisBackend};
use axum_session_store::{SessionBackend, SessionConfig, SessionId};
use common::private_redis::PrivateRedis;
use common::servers::{self, Fixture};
use common::{app, dumped, get_with_cookie, Client, Logs};
use deadpool_redis::redis::{self, AsyncCommands};
use deadpool_redis::{PoolConfig, Runtime, Timeouts};
use serde_json::json;
use time::Duration;

/// The shared Redis, a backend on it under a fresh key prefix, and that prefix.
struct Parts {
    fixture: Fixture,
    backend: Arc<RedisBackend>,
    prefix: String,
}

impl Parts {
    fn key(&self, id: &str) -> String {
        format!("{}{id}", self.prefix)
    }
}

/// A direct connection to the shared Redis, to look at what the backend wrote.
async fn inspect() -> redis::aio::MultiplexedConnection {
    redis::Client::open(servers::redis_url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap()
}

async fn redis_parts() -> Option<Parts> {
    let (backend, prefix, cleanup) = servers::shared_redis("test").await?;
    let backend = Arc::new(backend);
    let fixture = Fixture::with_cleanup(backend.clone(), cleanup);
    Some(Parts {
        fixture,
        backend,
        prefix,
    })
}

async fn redis() -> Option<Fixture> {
    Some(redis_parts().await?.fixture)
}

backend_suite!(redis);

/// The record id in the `session` cookie the client holds.
fn session_id(config: &SessionConfig, client: &Client) -> String {
    common::session_id_in(config, "session", &client.cookie("session")).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn record_is_a_hash_of_json_fields_with_the_configured_ttl() {
    let Some(parts) = redis_parts().await else {
        return;
    };
    let (config, _) = common::suite::config_with(&parts.fixture, |b| {
        b.server_session_ttl(Duration::minutes(10))
    });
    let mut client = Client::new(app::layered(config.clone()));
    client.get("/set?a=1&b=%22x%22&c=%5B1%2Cnull%5D").await; // c=[1,null]
    let key = parts.key(&session_id(&config, &client));
    let mut conn = inspect().await;

    let kind: String = redis::cmd("TYPE")
        .arg(&key)
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(kind, "hash");
    let mut fields: HashMap<String, String> = conn.hgetall(&key).await.unwrap();
    let created: i64 = fields
        .remove("m")
        .expect("the marker field")
        .parse()
        .unwrap();
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    assert!((now - 60..=now).contains(&created), "m = {created}");
    assert_eq!(
        fields,
        HashMap::from([
            ("d:a".to_owned(), "1".to_owned()),
            ("d:b".to_owned(), r#""x""#.to_owned()),
            ("d:c".to_owned(), "[1,null]".to_owned()),
        ])
    );
    let pttl: i64 = conn.pttl(&key).await.unwrap();
    assert!((590_000..=600_000).contains(&pttl), "PTTL {pttl}");

    // A change refreshes the TTL and keeps the marker.
    let _: () = redis::cmd("PEXPIRE")
        .arg(&key)
        .arg(30_000)
        .query_async(&mut conn)
        .await
        .unwrap();
    client.get("/set?a=2").await;
    let pttl: i64 = conn.pttl(&key).await.unwrap();
    assert!((590_000..=600_000).contains(&pttl), "PTTL {pttl}");
    let marker: String = conn.hget(&key, "m").await.unwrap();
    assert_eq!(marker, created.to_string());
    let a: String = conn.hget(&key, "d:a").await.unwrap();
    assert_eq!(a, "2");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_emptied_session_leaves_no_hash() {
    let Some(parts) = redis_parts().await else {
        return;
    };
    let (config, _) = common::suite::config_for(&parts.fixture);
    let mut client = Client::new(app::layered(config.clone()));
    client.get("/set?a=1&b=2").await;
    let key = parts.key(&session_id(&config, &client));
    let mut conn = inspect().await;
    let fields: Vec<String> = conn.hkeys(&key).await.unwrap();
    assert_eq!(fields.len(), 3, "the marker and two keys: {fields:?}");
    client.get("/clear").await;
    let exists: bool = conn.exists(&key).await.unwrap();
    assert!(!exists, "the hash is deleted");
    // A cleared and refilled session keeps its hash, and its marker.
    client.get("/set?a=1").await;
    let key = parts.key(&session_id(&config, &client));
    client.get("/replace?c=3").await;
    let mut fields: Vec<String> = conn.hkeys(&key).await.unwrap();
    fields.sort();
    assert_eq!(fields, ["d:c", "m"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_on_a_missing_record_creates_nothing_and_create_never_overwrites() {
    let Some(parts) = redis_parts().await else {
        return;
    };
    let backend = &parts.backend;
    let ttl = Duration::minutes(1);
    let id = SessionId::generate().unwrap();
    let key = parts.key(id.as_str());
    let mut conn = inspect().await;
    let changes = Changes::new().clear().remove("x").set("a", json!(1));

    assert!(!backend.apply(&id, &changes, ttl).await.unwrap());
    let exists: bool = conn.exists(&key).await.unwrap();
    assert!(!exists, "apply must not create the record");

    let record: Record = json!({"a": "first"}).as_object().unwrap().clone();
    assert!(backend.create(&id, &record, ttl).await.unwrap());
    let other: Record = json!({"a": "second"}).as_object().unwrap().clone();
    assert!(!backend.create(&id, &other, ttl).await.unwrap());
    assert_eq!(backend.load(&id).await.unwrap(), Some(record));

    // Clear, then remove, then set, in one step.
    let record: Record = json!({"a": 1, "b": 2, "c": 3}).as_object().unwrap().clone();
    let id2 = SessionId::generate().unwrap();
    assert!(backend.create(&id2, &record, ttl).await.unwrap());
    let changes = Changes::new()
        .clear()
        .remove("zz")
        .set("d", json!({"e": [true]}));
    assert!(backend.apply(&id2, &changes, ttl).await.unwrap());
    assert_eq!(
        backend
            .load(&id2)
            .await
            .unwrap()
            .map(serde_json::Value::Object),
        Some(json!({"d": {"e": [true]}}))
    );

    backend.delete(&id2).await.unwrap();
    assert!(!backend.apply(&id2, &changes, ttl).await.unwrap());
    assert_eq!(backend.load(&id2).await.unwrap(), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_keys_in_one_write() {
    // More fields than one Lua `unpack` chunk holds, through both scripts.
    let Some(parts) = redis_parts().await else {
        return;
    };
    let backend = &parts.backend;
    let ttl = Duration::minutes(1);
    let id = SessionId::generate().unwrap();
    let record: Record = (0..1000).map(|i| (format!("k{i}"), json!(i))).collect();
    assert!(backend.create(&id, &record, ttl).await.unwrap());
    assert_eq!(backend.load(&id).await.unwrap().unwrap().len(), 1000);
    let removed = (0..700).fold(Changes::new(), |changes, i| changes.remove(format!("k{i}")));
    let changes = (1000..1600).fold(removed, |changes, i| changes.set(format!("k{i}"), json!(i)));
    assert!(backend.apply(&id, &changes, ttl).await.unwrap());
    let mut expected = record.clone();
    changes.apply_to(&mut expected);
    assert_eq!(backend.load(&id).await.unwrap(), Some(expected));
    let changes = Changes::new().clear();
    assert!(backend.apply(&id, &changes, ttl).await.unwrap());
    assert_eq!(backend.load(&id).await.unwrap(), Some(Record::new()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corrupt_field_is_a_backend_error_and_a_500() {
    let Some(parts) = redis_parts().await else {
        return;
    };
    let (config, _) = common::suite::config_for(&parts.fixture);
    let router = app::layered(config.clone());
    let mut client = Client::new(router.clone());
    client.get("/set?cart=1&ok=2").await;
    let id = session_id(&config, &client);
    let mut conn = inspect().await;
    let _: () = conn
        .hset(parts.key(&id), "d:cart", "{secret-not-json")
        .await
        .unwrap();

    let error = parts
        .backend
        .load(&SessionId::parse(&id).unwrap())
        .await
        .unwrap_err();
    let mut chain = error.to_string();
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        chain.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    assert!(chain.contains(r#""cart""#), "{chain}");
    assert!(!chain.contains("secret"), "{chain}");

    let cookie = format!("session={}", client.cookie("session"));
    for uri in ["/dump", "/set?more=3"] {
        let reply = get_with_cookie(&router, uri, &cookie).await;
        assert_eq!(
            (reply.status.as_u16(), reply.body.as_str()),
            (500, "Internal Server Error"),
            "{uri}"
        );
        assert!(reply.set_cookies.is_empty(), "{uri}: {reply:?}");
    }
    // The record was left as it was.
    let ok: String = conn.hget(parts.key(&id), "d:ok").await.unwrap();
    assert_eq!(ok, "2");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn debug_shows_no_connection_details() {
    let pool = deadpool_redis::Config::from_url("redis://user:hunter2@127.0.0.1:6379/0")
        .create_pool(Some(Runtime::Tokio1))
        .unwrap();
    let text = format!("{:?}", RedisBackend::new(pool).key_prefix("app:"));
    assert!(text.contains("app:"), "{text}");
    assert!(
        !text.contains("hunter2") && !text.contains("user"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cleanup_leaves_no_keys_behind() {
    let Some(parts) = redis_parts().await else {
        return;
    };
    let (config, _) = common::suite::config_for(&parts.fixture);
    let mut client = Client::new(app::layered(config));
    client.get("/set?a=1").await;
    client.get("/regenerate").await;
    let pattern = format!("{}*", parts.prefix);
    let mut conn = inspect().await;
    let keys: Vec<String> = conn.keys(&pattern).await.unwrap();
    assert_eq!(keys.len(), 1, "the regenerated id's record only: {keys:?}");
    drop(client);
    drop(parts);
    let keys: Vec<String> = conn.keys(&pattern).await.unwrap();
    assert!(keys.is_empty(), "{keys:?}");
}

/// A pool on `url` whose waits fail fast, so an outage fails a request in seconds.
fn fast_failing_pool(url: String) -> deadpool_redis::Pool {
    let timeouts = Timeouts {
        wait: Some(StdDuration::from_secs(2)),
        create: Some(StdDuration::from_secs(2)),
        recycle: Some(StdDuration::from_secs(2)),
    };
    deadpool_redis::Config {
        pool: Some(PoolConfig {
            timeouts,
            ..PoolConfig::new(4)
        }),
        ..deadpool_redis::Config::from_url(url)
    }
    .create_pool(Some(Runtime::Tokio1))
    .unwrap()
}

// A current-thread runtime: `Logs` captures this thread's events, the handlers' included.
#[tokio::test]
async fn outage_answers_500_and_the_pool_recovers() {
    let Some(mut server) = PrivateRedis::start(false) else {
        return;
    };
    let backend = RedisBackend::new(fast_failing_pool(server.url()));
    let fixture = Fixture::new(Arc::new(backend));
    let (config, _) = common::suite::config_for(&fixture);
    let router = app::layered(config);
    let mut client = Client::new(router.clone());

    let reply = client.get("/set?a=1").await;
    assert_eq!(reply.status, 200);
    assert!(reply.cookie("session").is_some());
    assert_eq!(
        dumped(&client.get("/dump").await)["values"],
        json!({"a": 1})
    );

    server.kill();
    let (logs, guard) = Logs::capture();
    // Loading fails (the extractor's rejection), and so does creating (the layer's save).
    let started = Instant::now();
    let load_failed = client.get("/dump").await;
    let create_failed = Client::new(router.clone()).get("/set?b=2").await;
    let elapsed = started.elapsed();
    drop(guard);
    for (label, reply) in [("load", &load_failed), ("create", &create_failed)] {
        assert_eq!(
            (reply.status.as_u16(), reply.body.as_str()),
            (500, "Internal Server Error"),
            "{label}"
        );
        assert!(reply.set_cookies.is_empty(), "{label}: {reply:?}");
    }
    assert!(elapsed < StdDuration::from_secs(8), "took {elapsed:?}");
    let errors = logs.lines_with("ERROR");
    assert_eq!(errors.len(), 2, "{}", logs.text());
    for (line, action) in errors
        .iter()
        .zip(["failed to load the session", "failed to create the session"])
    {
        assert!(
            line.contains(r#"backend "Batched<Counting<Shared>>""#) && line.contains(action),
            "{line}"
        );
        assert!(line.contains("Redis"), "names the Redis failure: {line}");
    }

    // Same port, same pool, same router: requests work again. The restarted server is empty.
    server.spawn().unwrap();
    let reply = client.get("/dump").await;
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(dumped(&reply)["is_new"], true);
    assert_eq!(client.get("/set?c=3").await.status, 200);
    assert_eq!(
        dumped(&client.get("/dump").await)["values"],
        json!({"c": 3})
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scripts_run_by_sha_after_the_first_call() {
    // On a fresh server each script is sent whole once (EVALSHA fails with NOSCRIPT, EVAL
    // caches it); every later call is an EVALSHA. A stale SHA1 constant would make every call
    // an EVAL.
    let Some(server) = PrivateRedis::start(false) else {
        return;
    };
    let backend = RedisBackend::new(fast_failing_pool(server.url()));
    let ttl = Duration::minutes(1);
    let changes = Changes::new().set("a", json!(2));
    for _ in 0..3 {
        let id = SessionId::generate().unwrap();
        assert!(backend.create(&id, &Record::new(), ttl).await.unwrap());
        assert!(backend.apply(&id, &changes, ttl).await.unwrap());
    }
    let mut conn = redis::Client::open(server.url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let stats: String = redis::cmd("INFO")
        .arg("commandstats")
        .query_async(&mut conn)
        .await
        .unwrap();
    let calls = |command: &str| -> u64 {
        stats
            .lines()
            .find_map(|line| line.strip_prefix(&format!("cmdstat_{command}:calls=")))
            .and_then(|rest| rest.split(',').next())
            .map_or(0, |n| n.parse().unwrap())
    };
    assert_eq!((calls("eval"), calls("evalsha")), (2, 6), "{stats}");
}

/// A user's index is a sorted set of the keys of their records, scored by their expiry time,
/// whose TTL follows the longest-lived of them, and which goes when its last record goes.
#[tokio::test]
async fn the_user_index_expires_with_its_records() {
    let Some(parts) = redis_parts().await else {
        return;
    };
    let backend = &parts.backend;
    let user = format!("ada-{}", SessionId::generate().unwrap().as_str());
    let index = format!("{}user:{user}", parts.prefix);
    let record: Record = serde_json::from_value(json!({"_user": user})).unwrap();
    let (short, long) = (
        SessionId::generate().unwrap(),
        SessionId::generate().unwrap(),
    );
    assert!(backend
        .create(&short, &record, Duration::milliseconds(300))
        .await
        .unwrap());
    assert!(backend
        .create(&long, &record, Duration::minutes(10))
        .await
        .unwrap());
    let mut conn = inspect().await;
    let members: Vec<(String, i64)> = conn.zrange_withscores(&index, 0, -1).await.unwrap();
    let now = time::OffsetDateTime::now_utc().unix_timestamp() * 1000;
    assert_eq!(members.len(), 2, "{members:?}");
    assert_eq!(
        members[0].0,
        parts.key(short.as_str()),
        "the first to expire first"
    );
    assert_eq!(members[1].0, parts.key(long.as_str()));
    let expiry = members[1].1 - now;
    assert!(
        (590_000..=601_000).contains(&expiry),
        "expires in {expiry} ms"
    );
    let pttl: i64 = conn.pttl(&index).await.unwrap();
    assert!((590_000..=600_000).contains(&pttl), "PTTL {pttl}");

    // The short one expires: the listing drops it from the index.
    tokio::time::sleep(StdDuration::from_millis(400)).await;
    assert_eq!(backend.user_ids(&user).await.unwrap(), vec![long.clone()]);
    let members: Vec<String> = conn.zrange(&index, 0, -1).await.unwrap();
    assert_eq!(members, vec![parts.key(long.as_str())]);

    // The last one goes: so does the index.
    let changes = Changes::new().clear();
    assert!(backend
        .apply(&long, &changes, Duration::minutes(10))
        .await
        .unwrap());
    let exists: bool = conn.exists(&index).await.unwrap();
    assert!(!exists, "a record without a user leaves the index");
    backend.delete(&long).await.unwrap();
}

/// Asked to wait for a replica that does not exist (the shared Redis has none), a write is
/// refused after the wait, not reported as saved; a read still works.
#[tokio::test]
async fn a_write_no_replica_acknowledged_is_refused() {
    let Some((backend, _prefix, cleanup)) = servers::shared_redis("wait").await else {
        return;
    };
    // Deletes the test's keys when the test ends, however it ends.
    let _cleanup = Fixture::with_cleanup(
        Arc::new(axum_session_store::backend::MemoryBackend::new()),
        cleanup,
    );
    let backend = backend.wait_for_replicas(1, Duration::milliseconds(50));
    let record: Record = serde_json::from_value(json!({"a": 1})).unwrap();
    let id = SessionId::generate().unwrap();
    let started = Instant::now();
    let error = backend
        .create(&id, &record, Duration::HOUR)
        .await
        .unwrap_err();
    assert!(
        error
            .to_string()
            .contains("only 0 of 1 Redis replicas acknowledged"),
        "{error}"
    );
    assert!(
        started.elapsed() >= StdDuration::from_millis(50),
        "it waited"
    );
    // The master has it (WAIT does not undo a write): a failed save may have been applied.
    assert_eq!(backend.load(&id).await.unwrap(), Some(record));
}

/// How many ids a user index holds, whatever kind of key it is (0 when there is none).
async fn index_size(conn: &mut redis::aio::MultiplexedConnection, index: &str) -> usize {
    let kind: String = redis::cmd("TYPE")
        .arg(index)
        .query_async(conn)
        .await
        .unwrap();
    let count = match kind.as_str() {
        "none" => return 0,
        "set" => "SCARD",
        "zset" => "ZCARD",
        other => panic!("the user index is a {other}"),
    };
    redis::cmd(count)
        .arg(index)
        .query_async(conn)
        .await
        .unwrap()
}

/// A user's index holds no more ids than the user has live sessions, whatever ended the
/// others: a logout, a delete, a move to a new id (each at once), or the TTL (by the user's
/// next write at the latest).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_user_index_holds_no_more_ids_than_live_sessions() {
    let Some(parts) = redis_parts().await else {
        return;
    };
    let backend = &parts.backend;
    let user = format!("ada-{}", SessionId::generate().unwrap().as_str());
    let index = format!("{}user:{user}", parts.prefix);
    let record: Record = serde_json::from_value(json!({"_user": user})).unwrap();
    let mut conn = inspect().await;
    let (config, _) = common::suite::config_for(&parts.fixture);
    let router = app::layered(config);
    let mut live = 0;
    for cycle in 0..99 {
        match cycle % 3 {
            0 => {
                // Log in, log out.
                let mut client = Client::new(router.clone());
                assert_eq!(client.get(&format!("/login-as/{user}")).await.status, 200);
                assert_eq!(client.get("/invalidate").await.status, 200);
            }
            1 => {
                let id = SessionId::generate().unwrap();
                assert!(backend.create(&id, &record, Duration::HOUR).await.unwrap());
                backend.delete(&id).await.unwrap();
            }
            _ => {
                // Log in, then move to a new id: one session lives on.
                let mut client = Client::new(router.clone());
                assert_eq!(client.get(&format!("/login-as/{user}")).await.status, 200);
                assert_eq!(client.get("/regenerate").await.status, 200);
                live += 1;
            }
        }
        let size = index_size(&mut conn, &index).await;
        assert!(
            size <= live,
            "cycle {cycle}: {size} ids for {live} live sessions"
        );
    }

    // Sessions that expire leave the index by the user's next write.
    for _ in 0..100 {
        let id = SessionId::generate().unwrap();
        assert!(backend
            .create(&id, &record, Duration::milliseconds(200))
            .await
            .unwrap());
    }
    // One of them is saved again before it expires: its TTL, and its place, slide.
    let kept = SessionId::generate().unwrap();
    assert!(backend
        .create(&kept, &record, Duration::milliseconds(200))
        .await
        .unwrap());
    let touch = Changes::new().set("n".to_owned(), json!(1));
    assert!(backend.apply(&kept, &touch, Duration::HOUR).await.unwrap());
    live += 1;
    tokio::time::sleep(StdDuration::from_millis(300)).await;
    let id = SessionId::generate().unwrap();
    assert!(backend.create(&id, &record, Duration::HOUR).await.unwrap());
    live += 1;
    assert_eq!(index_size(&mut conn, &index).await, live);
    assert_eq!(backend.user_ids(&user).await.unwrap().len(), live);
    assert_eq!(
        backend.revoke_user_sessions(&user, None).await.unwrap(),
        live as u64
    );
    assert_eq!(index_size(&mut conn, &index).await, 0);
}

/// Behind a partition (a proxy that goes silent, sockets open), a request answers 503 within
/// the backend's timeout; healed, requests work again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partition_answers_503_in_time_and_heals() {
    use common::blackhole::BlackholeProxy;
    use common::partition;

    // Only to know the shared Redis is up, and to delete the keys afterwards.
    let Some((_, prefix, cleanup)) = servers::shared_redis("partition").await else {
        return;
    };
    let url = servers::redis_url();
    let proxy = BlackholeProxy::start(partition::upstream(&url)).await;
    let pool = deadpool_redis::Config::from_url(partition::through(&url, &proxy))
        .create_pool(Some(Runtime::Tokio1))
        .unwrap();
    let backend = RedisBackend::new(pool)
        .key_prefix(prefix)
        .timeout(partition::TIMEOUT);
    let _fixture = Fixture::with_cleanup(Arc::new(backend.clone()), cleanup);
    partition::answers_503_in_time_and_heals(Arc::new(backend), &proxy, || true).await;
}

/// Each operation's future stays small on every topology: a request's future holds it, and a
/// debug build's frames hold a copy of each future they await, so a 33 KB one (what taking a
/// connection from the pool, which may build a cluster client, made of every operation) took
/// a test's 2 MB stack. The pool's `get` is on the heap now.
#[test]
fn every_operations_future_stays_small() {
    let url = "redis://127.0.0.1:1";
    let single = RedisBackend::new(
        deadpool_redis::Config::from_url(url)
            .create_pool(Some(Runtime::Tokio1))
            .unwrap(),
    );
    let sentinel = RedisBackend::sentinel(
        deadpool_redis::sentinel::Config::from_urls(
            vec![url.to_owned()],
            "mymaster".to_owned(),
            deadpool_redis::sentinel::SentinelServerType::Master,
        )
        .create_pool(Some(Runtime::Tokio1))
        .unwrap(),
    );
    let cluster = RedisBackend::cluster(&deadpool_redis::cluster::Config::from_urls(vec![
        url.to_owned()
    ]))
    .unwrap();
    let id = SessionId::generate().unwrap();
    let record = Record::new();
    let changes = Changes::new().set("n", json!(1));
    let items = [axum_session_store::backend::ApplyItem::new(
        id.clone(),
        changes.clone(),
        Duration::HOUR,
    )];
    let ids = [id.clone()];
    for backend in [single, sentinel, cluster] {
        use axum_session_store::backend::Batching;
        let sizes = [
            std::mem::size_of_val(&backend.load(&id)),
            std::mem::size_of_val(&backend.create(&id, &record, Duration::HOUR)),
            std::mem::size_of_val(&backend.apply(&id, &changes, Duration::HOUR)),
            std::mem::size_of_val(&backend.delete(&id)),
            std::mem::size_of_val(&backend.load_many(&ids)),
            std::mem::size_of_val(&backend.apply_many(&items)),
        ];
        assert!(
            sizes.iter().all(|&size| size <= 8 * 1024),
            "{backend:?}: {sizes:?} bytes"
        );
    }
}
