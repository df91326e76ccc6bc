//! Listing a backend's live records, page by page, for a
//! [`MigratingBackend`](super::MigratingBackend)'s drain: a capability of the built-in
//! backends, kept inside the crate.

use std::future::Future;
use std::sync::Arc;

use time::Duration;

use super::erased::BoxFuture;
use super::error::BackendError;
use crate::id::SessionId;

/// One live record a listing found: its id and the time it has left.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Listed {
    pub(crate) id: SessionId,
    pub(crate) ttl: Duration,
}

/// A backend that can list its live records, in pages, from a cursor of its own. A listing
/// may miss a record created after it started (a drain needs none of those: new sessions go to
/// the new backend) and may return one twice; it returns every other live record once.
pub(crate) trait ListRecords: Send + Sync + 'static {
    /// Where a listing is: `Default` is its start.
    type Cursor: Default + Send + Sync + 'static;

    /// About `limit` records after `cursor` (a page may hold fewer, even none, before the end),
    /// moving `cursor` past them; `true` once the listing is complete.
    fn list_page(
        &self,
        cursor: &mut Self::Cursor,
        limit: usize,
    ) -> impl Future<Output = Result<(Vec<Listed>, bool), BackendError>> + Send;
}

/// A listing under way, object-safe: the backend and its cursor.
pub(crate) trait Pages: Send + Sync {
    /// The next page; `true` once the listing is complete.
    fn next_page(
        &mut self,
        limit: usize,
    ) -> BoxFuture<'_, Result<(Vec<Listed>, bool), BackendError>>;
}

struct Listing<B: ListRecords> {
    backend: Arc<B>,
    cursor: B::Cursor,
}

impl<B: ListRecords> Pages for Listing<B> {
    fn next_page(
        &mut self,
        limit: usize,
    ) -> BoxFuture<'_, Result<(Vec<Listed>, bool), BackendError>> {
        Box::pin(self.backend.list_page(&mut self.cursor, limit))
    }
}

/// What a [`Storage`](super::Storage) keeps of a backend that can list its records: a way to
/// start a listing from the beginning.
#[derive(Clone)]
pub(crate) struct Lister(Arc<dyn Fn() -> Box<dyn Pages> + Send + Sync>);

impl Lister {
    /// The lister of `backend`.
    pub(crate) fn of<B: ListRecords>(backend: B) -> Self {
        let backend = Arc::new(backend);
        Self(Arc::new(move || {
            Box::new(Listing {
                backend: backend.clone(),
                cursor: B::Cursor::default(),
            })
        }))
    }

    /// A listing from the beginning.
    pub(crate) fn start(&self) -> Box<dyn Pages> {
        (self.0)()
    }
}
