//! [`SessionState`]: one session of a request, shared by every handle to it: its resolved
//! profile and its data behind a lock.

use std::sync::{Mutex, MutexGuard, PoisonError};

use crate::config::profile::SessionProfile;
use crate::state::data::SessionData;

/// A session as the request sees it.
#[derive(Debug)]
pub(crate) struct SessionState {
    profile: SessionProfile,
    data: Mutex<SessionData>,
}

impl SessionState {
    pub(crate) fn new(profile: SessionProfile, data: SessionData) -> Self {
        Self {
            profile,
            data: Mutex::new(data),
        }
    }

    /// Its name, backend and settings, resolved once.
    pub(crate) fn profile(&self) -> &SessionProfile {
        &self.profile
    }

    /// The session's name, which is its cookie's name.
    pub(crate) fn name(&self) -> &str {
        self.profile.name()
    }

    /// Locks the data. A panic in another holder cannot leave it half-changed in a way that
    /// matters (every change is a single map operation), so a poisoned lock is used as is.
    pub(crate) fn lock(&self) -> MutexGuard<'_, SessionData> {
        self.data.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
