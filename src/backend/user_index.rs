//! [`UserIndex`]: a backend that can find the sessions of one user.

use std::future::Future;

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
/// assert!(backend.user_sessions("ada").await?.is_empty());
/// # Ok(()) }
/// ```
pub trait UserIndex: SessionBackend {
    /// The ids of the live records tied to `user_id`, compared byte for byte.
    fn user_sessions(
        &self,
        user_id: &str,
    ) -> impl Future<Output = Result<Vec<SessionId>, BackendError>> + Send;

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
    ) -> impl Future<Output = Result<Vec<SessionId>, BackendError>> + Send {
        (**self).user_sessions(user_id)
    }

    fn revoke_user_sessions(
        &self,
        user_id: &str,
        except: Option<&SessionId>,
    ) -> impl Future<Output = Result<u64, BackendError>> + Send {
        (**self).revoke_user_sessions(user_id, except)
    }
}
