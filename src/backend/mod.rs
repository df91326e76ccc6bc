//! Where session data lives: in the cookie itself, or on a server under an id.
//!
//! Server-side backends implement [`SessionBackend`]; the built-in ones do so exactly as a
//! user's own would.

mod batch;
mod changes;
mod cleanup;
pub(crate) mod error;
mod memory;
mod names;
#[cfg(feature = "redis")]
mod redis;
mod session_backend;
#[cfg(feature = "sqlx")]
mod sql;
#[cfg(any(feature = "redis", feature = "sqlx"))]
mod timeout;

pub(crate) use batch::batched;
pub(crate) use changes::ChangeLog;
pub use changes::Changes;
pub use cleanup::spawn_cleanup;
pub use error::BackendError;
pub use memory::{MemoryBackend, WhenFull, DEFAULT_MAX_BYTES, DEFAULT_MAX_RECORDS};
pub use names::{MEMORY, PRIVATE_COOKIE, SECURE_COOKIE};
#[cfg(feature = "redis")]
pub use redis::RedisBackend;
pub use session_backend::{ApplyItem, BoxFuture, Record, Regenerated, SessionBackend};
#[cfg(feature = "mysql")]
pub use sql::MySqlBackend;
#[cfg(feature = "postgres")]
pub use sql::PostgresBackend;
#[cfg(feature = "sqlite")]
pub use sql::SqliteBackend;
