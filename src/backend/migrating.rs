//! [`MigratingBackend`]: server-side sessions moving from one backend to another while the app
//! serves them, so that changing stores logs nobody out.

use std::collections::HashSet;
use std::fmt;
use std::sync::Arc;

use time::Duration;

use super::changes::Changes;
use super::erased::{DynBackend, DynUserIndex};
use super::error::BackendError;
use super::listing::Lister;
use super::seal::KeySlot;
use super::session_backend::{Record, Regenerated, SessionBackend};
use super::storage::{Storage, StorageKind};
use super::user_index::{latest_first, UserIndex, UserSession};
use crate::config_error::ConfigError;
use crate::id::SessionId;

/// A backend made of an old one and a new one, for moving sessions from the first to the
/// second (memory to Redis, Redis to PostgreSQL, ...) without logging anybody out.
///
/// - **Reads** look in the new backend first, then in the old one.
/// - **New sessions** go to the new backend only.
/// - **A session found in the old backend moves on its next save**: the new backend gets the
///   whole record with the request's changes, then the old copy is deleted. Reads prefer the
///   new copy meanwhile, so there are never two copies that answer with different data.
/// - **Deletes and revocations reach both**, the old backend first: a logout that races a move
///   is never undone by it (the move checks that the old copy is still there after writing the
///   new one, and takes the new one back if it is not).
///
/// Sessions nobody uses stay in the old backend until they expire there: run both until the
/// longest session lifetime has passed, then configure the new backend alone (see the README's
/// runbook).
///
/// The user index (devices pages, revoking a user's sessions) works when both backends have
/// one: [`Storage::from`] then registers it, and it lists and revokes across both.
///
/// ```
/// use axum_session_store::backend::{MemoryBackend, MigratingBackend};
/// use axum_session_store::SessionConfig;
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let (old, new) = (MemoryBackend::new(), MemoryBackend::new()); // e.g. Redis and PostgreSQL
/// let config = SessionConfig::builder()
///     .secret_key("an example secret, at least 32 bytes long")
///     .default_backend(MigratingBackend::new(old, new)?)
///     .build()?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct MigratingBackend {
    old: Side,
    new: Side,
    /// Where the sides' sealed backends take their keys from.
    seals: Vec<Arc<KeySlot>>,
}

/// One of the two backends, as its [`Storage`] holds it.
#[derive(Clone)]
struct Side {
    backend: Arc<dyn DynBackend>,
    index: Option<Arc<dyn DynUserIndex>>,
    label: Arc<str>,
    listing: Option<Lister>,
}

impl Side {
    /// The side `storage` makes, and the key slots of its sealed backends.
    fn of(storage: Storage, which: &str) -> Result<(Self, Vec<Arc<KeySlot>>), ConfigError> {
        match storage.kind {
            StorageKind::Server {
                backend,
                index,
                label,
                listing,
            } => Ok((
                Self {
                    backend,
                    index,
                    label,
                    listing,
                },
                storage.seals,
            )),
            _ => Err(ConfigError::InvalidSetting {
                setting: "MigratingBackend",
                problem: format!(
                    "the {which} storage is a cookie: only server-side backends move records \
                     (cookie sessions need no move: they travel with the browser)"
                ),
            }),
        }
    }
}

/// What moving one record from the old backend to the new one did.
pub(super) enum Move {
    /// The new backend has it; the old one no longer does.
    Done,
    /// The new backend already has a record under the target id.
    Taken,
    /// The old backend has no record under the id (any more).
    Gone,
}

impl MigratingBackend {
    /// Sessions in `old` move to `new` as they are saved; both must be server-side storages
    /// (a backend, or a [`Storage`] made of one).
    ///
    /// # Errors
    /// [`ConfigError::InvalidSetting`] when either is a cookie storage.
    pub fn new(old: impl Into<Storage>, new: impl Into<Storage>) -> Result<Self, ConfigError> {
        let (old, mut seals) = Side::of(old.into(), "old")?;
        let (new, new_seals) = Side::of(new.into(), "new")?;
        seals.extend(new_seals);
        Ok(Self { old, new, seals })
    }

    /// What logs and metrics call it: `old→new`.
    fn label(&self) -> Arc<str> {
        format!("{}→{}", self.old.label, self.new.label).into()
    }

    /// Whether both backends keep a user index, so that this one can.
    fn is_indexed(&self) -> bool {
        self.old.index.is_some() && self.new.index.is_some()
    }

    /// The old backend's listing, if it can list its sessions, and what it is called.
    pub(super) fn old_listing(&self) -> (Option<&Lister>, &str) {
        (self.old.listing.as_ref(), &self.old.label)
    }

    /// Moves the record `from` of the old backend to `to` in the new one, with `changes`.
    pub(super) async fn move_record(
        &self,
        from: &SessionId,
        to: &SessionId,
        changes: &Changes,
        ttl: Duration,
    ) -> Result<Move, BackendError> {
        let Some(mut record) = self.old.backend.load(from).await? else {
            return Ok(Move::Gone);
        };
        changes.apply_to(&mut record);
        if !self.new.backend.create(to, &record, ttl).await? {
            return Ok(Move::Taken);
        }
        // A logout (or another request's move) took the old copy between the read and the
        // write: the copy just written must not outlive it.
        if self.old.backend.load(from).await?.is_none() {
            self.new.backend.delete(to).await?;
            return Ok(Move::Gone);
        }
        if let Err(error) = self.old.backend.delete(from).await {
            // The new copy is written and read first; the old one expires no later than it.
            tracing::warn!(%error, "a moved session's old record could not be deleted");
        }
        Ok(Move::Done)
    }
}

/// Registers the user index when both backends have one.
impl From<MigratingBackend> for Storage {
    fn from(backend: MigratingBackend) -> Self {
        let label = backend.label();
        let seals = backend.seals.clone();
        let mut storage = if backend.is_indexed() {
            Storage::indexed(backend, label)
        } else {
            Storage::on_server(backend, label)
        };
        storage.seals.extend(seals);
        storage
    }
}

impl fmt::Debug for MigratingBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MigratingBackend")
            .field("old", &self.old.label)
            .field("new", &self.new.label)
            .finish()
    }
}

impl SessionBackend for MigratingBackend {
    async fn load(&self, id: &SessionId) -> Result<Option<Record>, BackendError> {
        if let Some(record) = self.new.backend.load(id).await? {
            return Ok(Some(record));
        }
        if let Some(record) = self.old.backend.load(id).await? {
            return Ok(Some(record));
        }
        // Moved between the two reads: a move writes the new copy before it drops the old.
        self.new.backend.load(id).await
    }

    async fn create(
        &self,
        id: &SessionId,
        record: &Record,
        ttl: Duration,
    ) -> Result<bool, BackendError> {
        self.new.backend.create(id, record, ttl).await
    }

    async fn apply(
        &self,
        id: &SessionId,
        changes: &Changes,
        ttl: Duration,
    ) -> Result<bool, BackendError> {
        if self.new.backend.apply(id, changes, ttl).await? {
            return Ok(true);
        }
        match self.move_record(id, id, changes, ttl).await? {
            Move::Done => Ok(true),
            // Another request moved it meanwhile: change that copy.
            Move::Taken | Move::Gone => self.new.backend.apply(id, changes, ttl).await,
        }
    }

    async fn regenerate(
        &self,
        old: &SessionId,
        new: &SessionId,
        changes: &Changes,
        ttl: Duration,
    ) -> Result<Regenerated, BackendError> {
        match self.new.backend.regenerate(old, new, changes, ttl).await? {
            Regenerated::Gone => {}
            done => return Ok(done),
        }
        match self.move_record(old, new, changes, ttl).await? {
            Move::Done => Ok(Regenerated::Moved),
            Move::Taken => Ok(Regenerated::Taken),
            // Another request moved it meanwhile, under its old id: move that copy.
            Move::Gone => self.new.backend.regenerate(old, new, changes, ttl).await,
        }
    }

    async fn delete(&self, id: &SessionId) -> Result<(), BackendError> {
        // The old copy first: a move that read it checks it is still there once it has written
        // the new copy.
        self.old.backend.delete(id).await?;
        self.new.backend.delete(id).await
    }
}

impl UserIndex for MigratingBackend {
    async fn user_sessions(
        &self,
        user_id: &str,
        limit: usize,
    ) -> Result<Vec<UserSession>, BackendError> {
        let (Some(old), Some(new)) = (&self.old.index, &self.new.index) else {
            return Err(not_indexed());
        };
        let mut sessions = new.user_sessions(user_id, limit).await?;
        let moved: HashSet<SessionId> = sessions.iter().map(|s| s.id.clone()).collect();
        let unmoved = old.user_sessions(user_id, limit).await?;
        sessions.extend(unmoved.into_iter().filter(|s| !moved.contains(&s.id)));
        latest_first(&mut sessions, limit);
        Ok(sessions)
    }

    async fn revoke_user_sessions(
        &self,
        user_id: &str,
        except: Option<&SessionId>,
    ) -> Result<u64, BackendError> {
        let (Some(old), Some(new)) = (&self.old.index, &self.new.index) else {
            return Err(not_indexed());
        };
        // The old backend first, as for a delete.
        let old = old.revoke_user_sessions(user_id, except).await?;
        Ok(old + new.revoke_user_sessions(user_id, except).await?)
    }
}

fn not_indexed() -> BackendError {
    BackendError::msg("a MigratingBackend has a user index only when both its backends have one")
}
