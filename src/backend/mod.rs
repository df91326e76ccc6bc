//! Where session data lives on a server, and how a session is given its place: the
//! [`Storage`] a config assigns, the optional capabilities a backend may add to
//! [`SessionBackend`](crate::SessionBackend) ([`Batching`], [`UserIndex`], [`DeleteExpired`]),
//! and the built-in backends, which implement them exactly as a user's own would.

mod batch;
mod batching;
mod changes;
mod cleanup;
mod drain;
pub(crate) mod erased;
pub(crate) mod error;
mod listing;
mod memory;
mod migrating;
#[cfg(feature = "redis")]
mod redis;
pub(crate) mod seal;
pub(crate) mod session_backend;
#[cfg(feature = "sqlx")]
mod sql;
mod storage;
#[cfg(any(feature = "redis", feature = "sqlx"))]
mod timeout;
mod user_index;

pub use batch::Batched;
pub use batching::{ApplyItem, BatchLimits, Batching};
pub(crate) use changes::ChangeLog;
pub use changes::Changes;
pub use cleanup::{spawn_cleanup, DeleteExpired};
pub use drain::{Drain, DrainProgress};
pub(crate) use error::BackendError;
pub use memory::{MemoryBackend, WhenFull};
pub use migrating::MigratingBackend;
#[cfg(feature = "redis")]
pub use redis::{CacheServer, RedisBackend};
pub use session_backend::{Record, Regenerated};
#[cfg(feature = "mysql")]
pub use sql::MySqlBackend;
#[cfg(feature = "postgres")]
pub use sql::PostgresBackend;
#[cfg(feature = "sqlite")]
pub use sql::SqliteBackend;
pub use storage::Storage;
pub(crate) use storage::StorageKind;
pub use user_index::{UserIndex, UserSession};
