//! The shared backend suite against the in-memory backend, plus what is particular to it.

mod common;

use std::sync::Arc;

use axum_session_store::{MemoryBackend, SessionBackend};
use common::servers::Fixture;

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
