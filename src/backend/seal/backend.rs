//! [`SealedBackend`]: a server-side backend whose records are stored sealed, the backend
//! underneath seeing only sealed fields.

use std::collections::HashSet;
use std::fmt;
use std::sync::Arc;

use serde_json::Value;
use time::Duration;

use super::keys::{open_text, KeySlot};
use super::record::{self, RecordKey, Token, Unopened, KEY_FIELD};
use crate::backend::changes::Changes;
use crate::backend::erased::{DynBackend, DynUserIndex};
use crate::backend::error::BackendError;
use crate::backend::session_backend::{Record, Regenerated, SessionBackend};
use crate::backend::user_index::{latest_first, UserIndex, UserSession};
use crate::id::SessionId;
use crate::reserved::METADATA_KEY;

/// `inner`, with every record sealed on its way in and opened on its way out.
pub(crate) struct SealedBackend {
    inner: Arc<dyn DynBackend>,
    index: Option<Arc<dyn DynUserIndex>>,
    keys: Arc<KeySlot>,
}

impl SealedBackend {
    pub(crate) fn new(
        inner: Arc<dyn DynBackend>,
        index: Option<Arc<dyn DynUserIndex>>,
        keys: Arc<KeySlot>,
    ) -> Self {
        Self { inner, index, keys }
    }

    /// The token of the record `id` when a save carries none: its key, read from the backend.
    /// (A request that loaded the record carries it; this is for one that did not.)
    async fn token_of(&self, id: &SessionId) -> Result<Option<Token>, BackendError> {
        let keys = self.keys.keys()?;
        let Some(stored) = self.inner.load(id).await? else {
            return Ok(None);
        };
        let wrapped = stored.get(KEY_FIELD).and_then(Value::as_str);
        match wrapped.and_then(|wrapped| RecordKey::unwrap(keys, wrapped)) {
            Some((key, _)) => Ok(Some(Token::fresh(key))),
            None => Err(BackendError::msg(
                "the session record is not sealed under a configured secret",
            )),
        }
    }

    /// `changes`, sealed under the key of the record `id`; `None` when there is no record.
    async fn sealed_changes(
        &self,
        id: &SessionId,
        changes: &Changes,
    ) -> Result<Option<Changes>, BackendError> {
        let keys = self.keys.keys()?;
        if *changes == Changes::new() {
            return Ok(Some(Changes::new()));
        }
        let token = match Token::of(changes) {
            Some(token) => token,
            None => match self.token_of(id).await? {
                Some(token) => token,
                None => return Ok(None),
            },
        };
        record::seal_changes(keys, &token, changes).map(Some)
    }

    fn index(&self) -> Result<&Arc<dyn DynUserIndex>, BackendError> {
        self.index
            .as_ref()
            .ok_or_else(|| BackendError::unsupported("an index of sessions by user"))
    }
}

impl SessionBackend for SealedBackend {
    async fn load(&self, id: &SessionId) -> Result<Option<Record>, BackendError> {
        let keys = self.keys.keys()?;
        let Some(stored) = self.inner.load(id).await? else {
            return Ok(None);
        };
        match record::open(keys, stored) {
            Ok(record) => Ok(Some(record)),
            Err(why) => {
                let why = match why {
                    Unopened::Unsealed => {
                        "it is not sealed (written before sealing was turned on?)"
                    }
                    Unopened::UnknownKey => "no configured secret opens it",
                    Unopened::Corrupt => "a field does not open under its key",
                };
                tracing::warn!(
                    why,
                    "a sealed session record could not be opened; starting a new session"
                );
                Ok(None)
            }
        }
    }

    async fn create(
        &self,
        id: &SessionId,
        record: &Record,
        ttl: Duration,
    ) -> Result<bool, BackendError> {
        let keys = self.keys.keys()?;
        // A record moved from another sealed backend keeps its key, so that a request which
        // loaded it there seals its changes under the key it has.
        let key = match Token::of_record(record) {
            Some(token) => token.key,
            None => RecordKey::generate()?,
        };
        let sealed = record::seal(keys, &key, record)?;
        self.inner.create(id, &sealed, ttl).await
    }

    async fn apply(
        &self,
        id: &SessionId,
        changes: &Changes,
        ttl: Duration,
    ) -> Result<bool, BackendError> {
        match self.sealed_changes(id, changes).await? {
            Some(sealed) => self.inner.apply(id, &sealed, ttl).await,
            None => Ok(false),
        }
    }

    async fn regenerate(
        &self,
        old: &SessionId,
        new: &SessionId,
        changes: &Changes,
        ttl: Duration,
    ) -> Result<Regenerated, BackendError> {
        match self.sealed_changes(old, changes).await? {
            Some(sealed) => self.inner.regenerate(old, new, &sealed, ttl).await,
            None => Ok(Regenerated::Gone),
        }
    }

    async fn delete(&self, id: &SessionId) -> Result<(), BackendError> {
        self.inner.delete(id).await
    }
}

impl UserIndex for SealedBackend {
    async fn user_sessions(
        &self,
        user_id: &str,
        limit: usize,
    ) -> Result<Vec<UserSession>, BackendError> {
        let keys = self.keys.keys()?;
        let index = self.index()?;
        // Records saved since the secret changed hold the user under the new key; the others
        // under the old one, until they are saved again.
        let mut sessions = Vec::new();
        let mut seen = HashSet::new();
        for digest in keys.user_digests(user_id) {
            for session in index.user_sessions(&digest, limit).await? {
                if seen.insert(session.id.clone()) {
                    sessions.push(session);
                }
            }
        }
        for session in &mut sessions {
            session.metadata = session.metadata.take().and_then(|sealed| {
                let (json, _) =
                    open_text(&keys.metadata, METADATA_KEY.as_bytes(), sealed.as_str()?)?;
                serde_json::from_slice(&json).ok()
            });
        }
        latest_first(&mut sessions, limit);
        Ok(sessions)
    }

    async fn revoke_user_sessions(
        &self,
        user_id: &str,
        except: Option<&SessionId>,
    ) -> Result<u64, BackendError> {
        let keys = self.keys.keys()?;
        let index = self.index()?;
        let mut revoked = 0;
        for digest in keys.user_digests(user_id) {
            revoked += index.revoke_user_sessions(&digest, except).await?;
        }
        Ok(revoked)
    }
}

impl fmt::Debug for SealedBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Sealed").field(&self.inner).finish()
    }
}
