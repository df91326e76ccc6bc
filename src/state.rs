//! One session's data for one request, shared by every handle to it.

use std::sync::{Mutex, MutexGuard, PoisonError};

use serde_json::{Map, Value};

use crate::backend::Backend;

/// A session as the request sees it: its name, its backend and its data.
#[derive(Debug)]
pub(crate) struct SessionState {
    name: String,
    backend: Backend,
    data: Mutex<SessionData>,
}

/// webapp2's `SessionDict`: the values plus what a save needs to know.
#[derive(Debug, Default)]
pub(crate) struct SessionData {
    pub(crate) values: Map<String, Value>,
    /// No valid session came with the request.
    pub(crate) is_new: bool,
    /// A mutating call happened since the session was loaded or last saved.
    pub(crate) modified: bool,
    /// `invalidate()` was called: the client's copy must be removed.
    pub(crate) invalidated: bool,
    /// The incoming cookie verified with a fallback key: sign it again with the primary one.
    pub(crate) needs_resign: bool,
}

impl SessionData {
    /// A session that no valid cookie carried.
    pub(crate) fn new_empty() -> Self {
        Self {
            is_new: true,
            ..Self::default()
        }
    }

    /// A session loaded from the request.
    pub(crate) fn loaded(values: Map<String, Value>, needs_resign: bool) -> Self {
        Self {
            values,
            needs_resign,
            ..Self::default()
        }
    }

    /// Whether the response must carry something for this session.
    pub(crate) fn needs_save(&self) -> bool {
        self.modified || self.needs_resign
    }

    /// Called once the session was written: a second save of the same request writes nothing.
    pub(crate) fn mark_saved(&mut self) {
        self.modified = false;
        self.needs_resign = false;
    }
}

impl SessionState {
    pub(crate) fn new(name: String, backend: Backend, data: SessionData) -> Self {
        Self {
            name,
            backend,
            data: Mutex::new(data),
        }
    }

    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    pub(crate) fn backend(&self) -> &Backend {
        &self.backend
    }

    /// Locks the data. A panic in another holder cannot leave it half-changed in a way that
    /// matters (every change is a single map operation), so a poisoned lock is used as is.
    pub(crate) fn lock(&self) -> MutexGuard<'_, SessionData> {
        self.data.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
