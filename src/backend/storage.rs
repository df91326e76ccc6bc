//! [`Storage`]: where a session's data is kept, as the config is given it.

use std::fmt;
use std::sync::Arc;

use super::erased::{DynBackend, DynUserIndex};
use super::error::BackendError;
use super::listing::{ListRecords, Lister};
use super::memory::MemoryBackend;
use super::seal::{KeySlot, SealedBackend};
use super::session_backend::SessionBackend;
use super::user_index::{UserIndex, UserSession};
use crate::id::SessionId;

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
    /// Where its sealed backends (its own, or a [`MigratingBackend`](super::MigratingBackend)'s)
    /// take their keys from, at `build()`.
    pub(crate) seals: Vec<Arc<KeySlot>>,
    /// Why `build()` must refuse it: [`sealed`](Self::sealed) on a cookie.
    pub(crate) refused: Option<&'static str>,
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
        /// drain: the built-in backends have one.
        listing: Option<Lister>,
    },
}

impl Storage {
    /// In the cookie, signed (HMAC-SHA256): readable by the client, never changeable. The
    /// default of every session. webapp2's `securecookie` backend.
    #[doc(alias = "securecookie")]
    pub fn signed_cookie() -> Self {
        Self::of(StorageKind::SignedCookie)
    }

    /// In the cookie, encrypted (XChaCha20-Poly1305): neither readable nor changeable by the
    /// client.
    #[doc(alias = "privatecookie")]
    pub fn private_cookie() -> Self {
        Self::of(StorageKind::PrivateCookie)
    }

    fn of(kind: StorageKind) -> Self {
        Self {
            kind,
            seals: Vec::new(),
            refused: None,
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
        Self::of(StorageKind::Server {
            backend: Arc::new(backend),
            index: None,
            label,
            listing: None,
        })
    }

    pub(super) fn indexed<B: UserIndex>(backend: B, label: Arc<str>) -> Self {
        let backend = Arc::new(backend);
        Self::of(StorageKind::Server {
            backend: backend.clone(),
            index: Some(backend),
            label,
            listing: None,
        })
    }

    /// This server-side storage with its records **sealed at rest**: encrypted and
    /// authenticated (XChaCha20-Poly1305) under keys derived from the config's `secret_key`,
    /// so that whoever reads the store (a backup, a replica, a support query) reads neither
    /// the session keys nor their values, nor the user ids, and cannot forge a record.
    ///
    /// Each record has a key of its own, wrapped under the config's secret; a record wrapped
    /// under a [fallback key](crate::SessionConfigBuilder::fallback_keys) is read, and wrapped
    /// again under the current secret by the next request that loads it. A record no configured secret opens,
    /// or one written before sealing was turned on, is a new session (move an existing store's
    /// records with a [`MigratingBackend`](super::MigratingBackend) from the plain storage to
    /// the sealed one, and nobody is logged out). The user index, devices pages and
    /// revocations keep working; the README's "Records sealed at rest" says what a sealed
    /// store no longer offers (reading or editing sessions with SQL or `redis-cli`).
    ///
    /// The keys come from the config the storage is given to, at
    /// [`build`](crate::SessionConfigBuilder::build), which refuses a cookie storage sealed
    /// (cookies have [`private_cookie`](Self::private_cookie)), a storage sealed twice (or a
    /// `MigratingBackend` with a sealed side sealed again: seal the sides) and a sealed
    /// storage given to two configs with different secrets.
    ///
    /// ```
    /// use axum_session_store::backend::{MemoryBackend, Storage};
    /// use axum_session_store::SessionConfig;
    ///
    /// # let secret = "an example secret, at least 32 bytes long";
    /// let config = SessionConfig::builder()
    ///     .secret_key(secret)
    ///     .default_backend(Storage::from(MemoryBackend::new()).sealed())
    ///     .build()?;
    ///
    /// let refused = SessionConfig::builder()
    ///     .secret_key(secret)
    ///     .default_backend(Storage::signed_cookie().sealed())
    ///     .build();
    /// assert!(refused.is_err());
    /// # Ok::<(), axum_session_store::ConfigError>(())
    /// ```
    #[must_use]
    pub fn sealed(mut self) -> Self {
        if !self.seals.is_empty() {
            // Sealed twice, or a MigratingBackend with a sealed side: the outer seal would
            // hide the records the inner one already seals, and a plain side's from both.
            self.refused = Some(
                "this storage is sealed already, or holds a sealed one (a MigratingBackend's \
                 side): seal each backend once, the sides of a MigratingBackend rather than \
                 the MigratingBackend",
            );
            return self;
        }
        match self.kind {
            StorageKind::Server {
                backend,
                index,
                label,
                listing,
            } => {
                let slot = Arc::new(KeySlot::default());
                let sealed = Arc::new(SealedBackend::new(backend, index.clone(), slot.clone()));
                self.seals.push(slot);
                self.kind = StorageKind::Server {
                    index: index.map(|_| sealed.clone() as Arc<dyn DynUserIndex>),
                    backend: sealed,
                    label,
                    listing,
                };
            }
            _ => {
                self.refused = Some(
                    "a cookie storage cannot be sealed: Storage::private_cookie() encrypts \
                     a session's cookie",
                );
            }
        }
        self
    }

    /// A built-in backend: [`Batched`](super::Batched), with its index and its listing.
    #[cfg(any(feature = "redis", feature = "sqlx"))]
    fn batched<B>(backend: B, label: &str) -> Self
    where
        B: super::batching::Batching + UserIndex + ListRecords + Clone,
    {
        Self::indexed(super::batch::Batched::new(backend.clone()), label.into()).listed(backend)
    }

    /// This storage, whose records `backend` (the same store) lists.
    fn listed<L: ListRecords>(mut self, backend: L) -> Self {
        if let StorageKind::Server { listing, .. } = &mut self.kind {
            *listing = Some(Lister::of(backend));
        }
        self
    }

    /// Deletes every session of `user_id` in this server-side storage but `except`, and
    /// returns how many went: admin work outside any request (after a password change, say),
    /// what [`Session::revoke_other_sessions`](crate::Session::revoke_other_sessions) does
    /// inside one. Ask the storage given to the config (a clone of it) rather than the backend
    /// it was made of: a [sealed](Self::sealed) storage's index holds a MAC of each user id,
    /// which only the storage computes.
    ///
    /// # Errors
    /// The backend failed, or keeps no index of sessions by user (a cookie storage has none).
    ///
    /// ```
    /// use axum_session_store::backend::{MemoryBackend, Storage};
    /// use axum_session_store::SessionConfig;
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let storage = Storage::from(MemoryBackend::new()).sealed();
    /// let config = SessionConfig::builder()
    ///     .secret_key("an example secret, at least 32 bytes long")
    ///     .default_backend(storage.clone())
    ///     .build()?;
    /// // After Ada's password changed, from anywhere in the app:
    /// assert_eq!(storage.revoke_user_sessions("ada", None).await?, 0);
    /// assert!(storage.user_sessions("ada", 100).await?.is_empty());
    /// # Ok(()) }
    /// ```
    pub async fn revoke_user_sessions(
        &self,
        user_id: &str,
        except: Option<&SessionId>,
    ) -> Result<u64, BackendError> {
        self.index()?.revoke_user_sessions(user_id, except).await
    }

    /// The live sessions of `user_id` in this server-side storage, at most `limit` of them,
    /// those that expire last first: what a devices page lists, for admin work outside any
    /// request (see [`revoke_user_sessions`](Self::revoke_user_sessions)).
    ///
    /// # Errors
    /// The backend failed, or keeps no index of sessions by user (a cookie storage has none).
    pub async fn user_sessions(
        &self,
        user_id: &str,
        limit: usize,
    ) -> Result<Vec<UserSession>, BackendError> {
        self.index()?.user_sessions(user_id, limit).await
    }

    fn index(&self) -> Result<&Arc<dyn DynUserIndex>, BackendError> {
        match &self.kind {
            StorageKind::Server {
                index: Some(index), ..
            } => Ok(index),
            _ => Err(BackendError::unsupported("an index of sessions by user")),
        }
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
        Self::batched(backend, "redis")
    }
}

#[cfg(feature = "postgres")]
impl From<super::sql::PostgresBackend> for Storage {
    /// In PostgreSQL, [`Batched`](super::Batched), with its index of sessions by user.
    fn from(backend: super::sql::PostgresBackend) -> Self {
        Self::batched(backend, "postgres")
    }
}

#[cfg(feature = "sqlite")]
impl From<super::sql::SqliteBackend> for Storage {
    /// In SQLite, [`Batched`](super::Batched), with its index of sessions by user.
    fn from(backend: super::sql::SqliteBackend) -> Self {
        Self::batched(backend, "sqlite")
    }
}

#[cfg(feature = "mysql")]
impl From<super::sql::MySqlBackend> for Storage {
    /// In MySQL or MariaDB, [`Batched`](super::Batched), with its index of sessions by user.
    fn from(backend: super::sql::MySqlBackend) -> Self {
        Self::batched(backend, "mysql")
    }
}
