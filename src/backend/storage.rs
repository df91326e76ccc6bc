//! [`Storage`]: where a session's data is kept, as the config is given it.

use std::fmt;
use std::sync::Arc;

use super::erased::{DynBackend, DynUserIndex};
use super::listing::{ListRecords, Lister};
use super::memory::MemoryBackend;
use super::session_backend::SessionBackend;
use super::user_index::UserIndex;

/// Where a session's data is kept: in its cookie, signed or encrypted, or in a server-side
/// backend under an id. Give one to
/// [`SessionConfigBuilder::default_backend`](crate::SessionConfigBuilder::default_backend) or
/// [`session_backend`](crate::SessionConfigBuilder::session_backend): the built-in backends
/// convert into it as they are (`.default_backend(RedisBackend::new(pool))`), a backend of your
/// own through [`server`](Self::server) or [`with_user_index`](Self::with_user_index).
///
/// The choice is a value, not a name: a session cannot name a backend that was never given.
/// Clones share the backend (and its batch queues), so several sessions may keep their data in
/// one.
///
/// ```
/// use axum_session_store::backend::{MemoryBackend, Storage};
/// use axum_session_store::{SessionConfig, SessionName};
///
/// struct Cart;
/// impl SessionName for Cart {
///     const NAME: &'static str = "cart";
/// }
///
/// # let secret = "an example secret, at least 32 bytes long";
/// let config = SessionConfig::builder()
///     .secret_key(secret)
///     .default_backend(MemoryBackend::new())
///     .session_backend::<Cart>(Storage::private_cookie())
///     .build()?;
/// # Ok::<(), axum_session_store::ConfigError>(())
/// ```
#[derive(Clone)]
pub struct Storage {
    pub(crate) kind: StorageKind,
}

/// What a [`Storage`] is.
#[derive(Clone)]
pub(crate) enum StorageKind {
    /// The data is the cookie's own payload, signed.
    SignedCookie,
    /// The data is the cookie's own payload, encrypted.
    PrivateCookie,
    /// The data is in `backend`, found by the id the cookie holds.
    Server {
        backend: Arc<dyn DynBackend>,
        /// The same backend's index of sessions by user, when it keeps one.
        index: Option<Arc<dyn DynUserIndex>>,
        /// What logs and errors call it.
        label: Arc<str>,
        /// A way to list the backend's records, for a [`MigratingBackend`](super::MigratingBackend)'s
        /// drain: the built-in backends have one (but a Redis Cluster).
        listing: Option<Lister>,
    },
}

impl Storage {
    /// In the cookie, signed (HMAC-SHA256): readable by the client, never changeable. The
    /// default of every session. webapp2's `securecookie` backend.
    #[doc(alias = "securecookie")]
    pub fn signed_cookie() -> Self {
        Self {
            kind: StorageKind::SignedCookie,
        }
    }

    /// In the cookie, encrypted (XChaCha20-Poly1305): neither readable nor changeable by the
    /// client.
    #[doc(alias = "privatecookie")]
    pub fn private_cookie() -> Self {
        Self {
            kind: StorageKind::PrivateCookie,
        }
    }

    /// In `backend`, a server-side store without an index of sessions by user.
    ///
    /// ```
    /// use axum_session_store::backend::{MemoryBackend, Storage};
    ///
    /// let storage = Storage::server(MemoryBackend::new());
    /// assert_eq!(format!("{storage:?}"), "Storage::Server(MemoryBackend)");
    /// ```
    pub fn server<B: SessionBackend>(backend: B) -> Self {
        Self::on_server(backend, type_name::<B>())
    }

    /// In `backend`, a server-side store with an index of sessions by user, so that
    /// [`Session::user_sessions`](crate::Session::user_sessions) and the revoking methods
    /// reach it.
    pub fn with_user_index<B: UserIndex>(backend: B) -> Self {
        Self::indexed(backend, type_name::<B>())
    }

    pub(super) fn on_server<B: SessionBackend>(backend: B, label: Arc<str>) -> Self {
        Self {
            kind: StorageKind::Server {
                backend: Arc::new(backend),
                index: None,
                label,
                listing: None,
            },
        }
    }

    pub(super) fn indexed<B: UserIndex>(backend: B, label: Arc<str>) -> Self {
        let backend = Arc::new(backend);
        Self {
            kind: StorageKind::Server {
                backend: backend.clone(),
                index: Some(backend),
                label,
                listing: None,
            },
        }
    }

    /// A built-in backend: [`Batched`](super::Batched), with its index and, when `listed`,
    /// its listing.
    #[cfg(any(feature = "redis", feature = "sqlx"))]
    fn batched<B>(backend: B, label: &str, listed: bool) -> Self
    where
        B: super::batching::Batching + UserIndex + ListRecords + Clone,
    {
        let storage = Self::indexed(super::batch::Batched::new(backend.clone()), label.into());
        if listed {
            storage.listed(backend)
        } else {
            storage
        }
    }

    /// This storage, whose records `backend` (the same store) lists.
    fn listed<L: ListRecords>(mut self, backend: L) -> Self {
        if let StorageKind::Server { listing, .. } = &mut self.kind {
            *listing = Some(Lister::of(backend));
        }
        self
    }

    /// What logs and errors call it.
    pub(crate) fn label(&self) -> Arc<str> {
        match &self.kind {
            StorageKind::SignedCookie => "securecookie".into(),
            StorageKind::PrivateCookie => "privatecookie".into(),
            StorageKind::Server { label, .. } => label.clone(),
        }
    }
}

impl Default for Storage {
    /// [`Storage::signed_cookie`].
    fn default() -> Self {
        Self::signed_cookie()
    }
}

impl fmt::Debug for Storage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            StorageKind::SignedCookie => f.write_str("Storage::SignedCookie"),
            StorageKind::PrivateCookie => f.write_str("Storage::PrivateCookie"),
            StorageKind::Server { label, .. } => write!(f, "Storage::Server({label})"),
        }
    }
}

/// A type's name without its paths: `Batched<MapBackend>` for
/// `axum_session_store::backend::Batched<app::MapBackend>`.
fn type_name<T>() -> Arc<str> {
    let full = std::any::type_name::<T>();
    let mut name = String::with_capacity(full.len());
    let mut segment = String::new();
    for c in full.chars() {
        match c {
            ':' => segment.clear(),
            '<' | '>' | ',' | ' ' | '(' | ')' | '[' | ']' | ';' | '&' => {
                name.push_str(&segment);
                segment.clear();
                name.push(c);
            }
            c => segment.push(c),
        }
    }
    name.push_str(&segment);
    name.into()
}

impl From<MemoryBackend> for Storage {
    /// In memory, with its index of sessions by user; no batching (there is no round trip).
    fn from(backend: MemoryBackend) -> Self {
        Self::indexed(backend.clone(), "memory".into()).listed(backend)
    }
}

#[cfg(feature = "redis")]
impl From<super::redis::RedisBackend> for Storage {
    /// In Redis, [`Batched`](super::Batched), with its index of sessions by user.
    fn from(backend: super::redis::RedisBackend) -> Self {
        // A Cluster's keys are spread over its nodes: one SCAN does not list them.
        let single_node = backend.is_single_node();
        Self::batched(backend, "redis", single_node)
    }
}

#[cfg(feature = "postgres")]
impl From<super::sql::PostgresBackend> for Storage {
    /// In PostgreSQL, [`Batched`](super::Batched), with its index of sessions by user.
    fn from(backend: super::sql::PostgresBackend) -> Self {
        Self::batched(backend, "postgres", true)
    }
}

#[cfg(feature = "sqlite")]
impl From<super::sql::SqliteBackend> for Storage {
    /// In SQLite, [`Batched`](super::Batched), with its index of sessions by user.
    fn from(backend: super::sql::SqliteBackend) -> Self {
        Self::batched(backend, "sqlite", true)
    }
}

#[cfg(feature = "mysql")]
impl From<super::sql::MySqlBackend> for Storage {
    /// In MySQL or MariaDB, [`Batched`](super::Batched), with its index of sessions by user.
    fn from(backend: super::sql::MySqlBackend) -> Self {
        Self::batched(backend, "mysql", true)
    }
}
