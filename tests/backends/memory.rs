//! The shared backend suite against the in-memory backend, plus what is particular to it.

use crate::backend_suite;
use crate::common;

use std::sync::Arc;

use axum_session_store::backend::{DeleteExpired, MemoryBackend, Storage};
use axum_session_store::SessionBackend;
use common::servers::Fixture;
use common::storage_only::StorageOnly;

async fn memory() -> Option<Fixture> {
    Some(Fixture::new(Arc::new(MemoryBackend::new())))
}

backend_suite!(memory);

#[tokio::test]
async fn delete_expired_frees_memory() {
    let backend = Arc::new(MemoryBackend::new());
    let fixture = Fixture::new(backend.clone());
    let (config, _) = common::suite::config_with(&fixture, |b| {
        b.server_session_ttl(time::Duration::seconds(1))
    });
    let mut client = common::Client::new(common::app::layered(config));
    client.get("/set?a=1").await;
    assert_eq!(backend.len(), 1);
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert_eq!(backend.delete_expired().await.unwrap(), 1);
    assert!(backend.is_empty());
}

/// A user's backend that implements only the five required methods, and none of the optional
/// capabilities, passes the published suite and serves sessions registered as it is.
#[tokio::test]
async fn a_backend_of_the_required_methods_only_passes_the_suite_and_moves_the_data() {
    axum_session_store::test_util::backend_suite(StorageOnly::default()).await;
    let config = axum_session_store::SessionConfig::builder()
        .secret_key(common::SECRET)
        .default_backend(Storage::server(StorageOnly::default()))
        .build()
        .unwrap();
    let mut client = common::Client::new(common::app::layered(config));
    client.get("/set?user=ada").await;
    let before = client.cookie("session");
    client.get("/regenerate").await;
    assert_ne!(client.cookie("session"), before, "a new id");
    assert_eq!(
        common::dumped(&client.get("/dump").await)["values"],
        serde_json::json!({"user": "ada"})
    );
}

/// Expired records are swept by the backend's own writes: no `spawn_cleanup` needed.
#[tokio::test]
async fn expired_records_are_swept_without_spawn_cleanup() {
    let backend = Arc::new(MemoryBackend::new());
    let record = axum_session_store::backend::Record::new();
    for _ in 0..50 {
        let id = axum_session_store::SessionId::generate().unwrap();
        assert!(backend
            .create(&id, &record, time::Duration::milliseconds(100))
            .await
            .unwrap());
    }
    assert_eq!(backend.len(), 50);
    tokio::time::sleep(std::time::Duration::from_millis(150)).await;
    for _ in 0..2 {
        let id = axum_session_store::SessionId::generate().unwrap();
        assert!(backend
            .create(&id, &record, time::Duration::hours(1))
            .await
            .unwrap());
    }
    assert_eq!(backend.len(), 2, "the expired records went with two writes");
}

/// A TTL of zero or less means "already expired", never "forever".
#[tokio::test]
async fn a_negative_ttl_expires_at_once() {
    let backend = MemoryBackend::new();
    let id = axum_session_store::SessionId::generate().unwrap();
    let record = serde_json::json!({"a": 1}).as_object().unwrap().clone();
    assert!(backend
        .create(&id, &record, time::Duration::seconds(-5))
        .await
        .unwrap());
    assert_eq!(backend.load(&id).await.unwrap(), None);
}

/// A create under a live record's id is refused, and the record is left as it was.
#[tokio::test]
async fn a_taken_id_is_refused_and_the_record_kept() {
    let backend = MemoryBackend::new();
    let id = axum_session_store::SessionId::generate().unwrap();
    let first = serde_json::json!({"owner": "ada"})
        .as_object()
        .unwrap()
        .clone();
    let second = serde_json::json!({"owner": "mallory"})
        .as_object()
        .unwrap()
        .clone();
    let ttl = time::Duration::hours(1);
    assert!(backend.create(&id, &first, ttl).await.unwrap());
    assert!(!backend.create(&id, &second, ttl).await.unwrap());
    assert_eq!(backend.load(&id).await.unwrap(), Some(first));
}

/// Cookie-less requests that each create a session, past the capacity: the store stays bounded,
/// every session acknowledged before stays, and each refused create is a 500 whose log says
/// what to change. (Before, such a loop grew the store until the process ran out of memory.)
#[tokio::test]
async fn creating_past_the_capacity_is_refused_and_keeps_every_session() {
    let backend = Arc::new(MemoryBackend::new().max_records(20));
    let fixture = Fixture::new(backend.clone());
    let (config, _) = common::suite::config_for(&fixture);
    let router = common::app::layered(config);
    let mut clients = Vec::new();
    for i in 0..20 {
        let mut client = common::Client::new(router.clone());
        assert_eq!(client.get(&format!("/set?n={i}")).await.status, 200);
        clients.push(client);
    }
    let (logs, _guard) = common::Logs::capture();
    for i in 20..50 {
        let reply = common::Client::new(router.clone())
            .get(&format!("/set?n={i}"))
            .await;
        assert_eq!(reply.status, 500);
        assert!(reply.set_cookies.is_empty());
    }
    assert!(
        logs.text()
            .contains("the memory backend is full (20 of 20 records"),
        "{}",
        logs.text()
    );
    assert_eq!(backend.len(), 20);
    for (i, client) in clients.iter_mut().enumerate() {
        let values = common::dumped(&client.get("/dump").await)["values"].clone();
        assert_eq!(values, serde_json::json!({ "n": i }), "session {i} kept");
    }
}

/// The byte limit bounds what large values can take, whatever the record count.
#[tokio::test]
async fn the_byte_limit_bounds_large_values() {
    let backend = Arc::new(MemoryBackend::new().max_bytes(10_000));
    let fixture = Fixture::new(backend.clone());
    let (config, _) = common::suite::config_for(&fixture);
    let router = common::app::layered(config);
    let big = "x".repeat(1_000);
    let mut stored = 0;
    for _ in 0..30 {
        let reply = common::Client::new(router.clone())
            .get(&format!("/set?v={big}"))
            .await;
        stored += usize::from(reply.status == 200);
    }
    assert!(backend.bytes() <= 10_000, "{} bytes", backend.bytes());
    assert_eq!(stored, backend.len());
    assert!(
        (8..=9).contains(&stored),
        "{stored} records of ~1.1 KB fit in 10 KB"
    );
}

/// With `WhenFull::EvictSoonestToExpire`, new sessions always fit and the session saved
/// longest ago goes first: the documented trade.
#[tokio::test]
async fn eviction_makes_room_by_dropping_the_session_saved_longest_ago() {
    let backend = Arc::new(
        MemoryBackend::new()
            .max_records(3)
            .when_full(axum_session_store::backend::WhenFull::EvictSoonestToExpire),
    );
    let fixture = Fixture::new(backend.clone());
    let (config, _) = common::suite::config_for(&fixture);
    let router = common::app::layered(config);
    let mut clients = Vec::new();
    for i in 0..4 {
        let mut client = common::Client::new(router.clone());
        assert_eq!(client.get(&format!("/set?n={i}")).await.status, 200);
        clients.push(client);
        // Distinct expiry instants, so "soonest to expire" is well defined.
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    assert_eq!(backend.len(), 3);
    let live: Vec<bool> = {
        let mut live = Vec::new();
        for client in &mut clients {
            live.push(common::dumped(&client.get("/dump").await)["is_new"] == false);
        }
        live
    };
    assert_eq!(live, [false, true, true, true]);
}
