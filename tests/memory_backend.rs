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

/// A user's backend that implements only the required methods: `regenerate` falls back to the
/// trait's default (load, create, delete), which moves the data, if not atomically.
#[derive(Debug)]
struct RequiredMethodsOnly(MemoryBackend);

impl SessionBackend for RequiredMethodsOnly {
    fn load<'a>(
        &'a self,
        id: &'a axum_session_store::SessionId,
    ) -> axum_session_store::BoxFuture<
        'a,
        Result<Option<axum_session_store::Record>, axum_session_store::BackendError>,
    > {
        self.0.load(id)
    }
    fn create<'a>(
        &'a self,
        id: &'a axum_session_store::SessionId,
        record: &'a axum_session_store::Record,
        ttl: time::Duration,
    ) -> axum_session_store::BoxFuture<'a, Result<bool, axum_session_store::BackendError>> {
        self.0.create(id, record, ttl)
    }
    fn apply<'a>(
        &'a self,
        id: &'a axum_session_store::SessionId,
        changes: &'a axum_session_store::Changes,
        ttl: time::Duration,
    ) -> axum_session_store::BoxFuture<'a, Result<bool, axum_session_store::BackendError>> {
        self.0.apply(id, changes, ttl)
    }
    fn delete<'a>(
        &'a self,
        id: &'a axum_session_store::SessionId,
    ) -> axum_session_store::BoxFuture<'a, Result<(), axum_session_store::BackendError>> {
        self.0.delete(id)
    }
    fn delete_expired(
        &self,
    ) -> axum_session_store::BoxFuture<'_, Result<u64, axum_session_store::BackendError>> {
        self.0.delete_expired()
    }
}

#[tokio::test]
async fn the_default_regenerate_moves_the_data() {
    let fixture = Fixture::new(Arc::new(RequiredMethodsOnly(MemoryBackend::new())));
    common::suite::regenerate_id_moves_the_data_and_kills_the_old_id(&fixture).await;
}
