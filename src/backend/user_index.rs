//! [`UserIndex`]: a backend that can find the sessions of one user.

use std::future::Future;

use serde_json::Value;
use time::OffsetDateTime;

use super::error::BackendError;
use super::session_backend::SessionBackend;
use crate::id::SessionId;

/// A backend that finds, and revokes, every session of one user: records that hold the user
/// under the reserved key [`USER_KEY`](crate::session::USER_KEY) (`"_user"`), set with
/// [`Session::set_user_id`](crate::Session::set_user_id).
///
/// Optional: a backend without it serves every session, and
/// [`Session::user_sessions`](crate::Session::user_sessions) and the revoking methods answer
/// an error that says the backend keeps no index. Register a backend with it through
/// [`Storage::with_user_index`](crate::backend::Storage::with_user_index); every built-in
/// server backend has one.
///
/// ```
/// use axum_session_store::backend::{MemoryBackend, UserIndex};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let backend = MemoryBackend::new();
/// // After a password change, from anywhere in the app:
/// let revoked = backend.revoke_user_sessions("ada", None).await?;
/// assert_eq!(revoked, 0);
/// assert!(backend.user_sessions("ada", 100).await?.is_empty());
/// # Ok(()) }
/// ```
pub trait UserIndex: SessionBackend {
    /// The live records tied to `user_id` (compared byte for byte): at most `limit` of them,
    /// those that expire last first, each with its expiry and the value it holds under
    /// [`METADATA_KEY`](crate::session::METADATA_KEY), read in a bounded number of round trips
    /// (not one per session).
    fn user_sessions(
        &self,
        user_id: &str,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<UserSession>, BackendError>> + Send;

    /// Deletes, atomically, every record tied to `user_id` but `except` (the current session,
    /// for "sign out all other devices"), and returns how many went.
    fn revoke_user_sessions(
        &self,
        user_id: &str,
        except: Option<&SessionId>,
    ) -> impl Future<Output = Result<u64, BackendError>> + Send;
}

impl<B: UserIndex> UserIndex for std::sync::Arc<B> {
    fn user_sessions(
        &self,
        user_id: &str,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<UserSession>, BackendError>> + Send {
        (**self).user_sessions(user_id, limit)
    }

    fn revoke_user_sessions(
        &self,
        user_id: &str,
        except: Option<&SessionId>,
    ) -> impl Future<Output = Result<u64, BackendError>> + Send {
        (**self).revoke_user_sessions(user_id, except)
    }
}

/// One live session of a user, as [`UserIndex::user_sessions`] lists it.
///
/// ```
/// use axum_session_store::backend::UserSession;
/// use axum_session_store::SessionId;
///
/// let expires_at = time::OffsetDateTime::now_utc() + time::Duration::HOUR;
/// let listed = UserSession::new(SessionId::generate()?, expires_at, None);
/// assert_eq!(listed.metadata, None);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct UserSession {
    /// The session's id.
    pub id: SessionId,
    /// When its record expires, unless saved again.
    pub expires_at: OffsetDateTime,
    /// What the record holds under [`METADATA_KEY`](crate::session::METADATA_KEY), if anything.
    pub metadata: Option<Value>,
}

impl UserSession {
    /// The session `id`, expiring at `expires_at`, with `metadata`.
    pub fn new(id: SessionId, expires_at: OffsetDateTime, metadata: Option<Value>) -> Self {
        Self {
            id,
            expires_at,
            metadata,
        }
    }
}

/// Orders `sessions` as [`UserIndex::user_sessions`] answers (those that expire last first, then
/// by id) and keeps the first `limit`.
pub(crate) fn latest_first(sessions: &mut Vec<UserSession>, limit: usize) {
    sessions.sort_by(|a, b| {
        b.expires_at
            .cmp(&a.expires_at)
            .then_with(|| a.id.cmp(&b.id))
    });
    sessions.truncate(limit);
}
