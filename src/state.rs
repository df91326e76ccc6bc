//! One session's data for one request, shared by every handle to it.

use std::sync::{Mutex, MutexGuard, PoisonError};

use serde_json::{Map, Value};

use crate::backend::{Backend, ChangeLog};
use crate::expiry::Creation;
use crate::id::SessionId;

/// A session as the request sees it: its name, its backend and its data.
#[derive(Debug)]
pub(crate) struct SessionState {
    /// The session's name followed by its backend's name, in one allocation.
    names: String,
    /// Where the session's name ends in `names`.
    name_len: usize,
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
    /// Server-side sessions: the id of the record the request loaded.
    pub(crate) id: Option<SessionId>,
    /// Server-side sessions: `regenerate_id()` was called.
    pub(crate) regenerate: bool,
    /// Server-side sessions: the keys changed since loading, for a partial save.
    pub(crate) changes: ChangeLog,
    /// When the session was created, tracked when an absolute lifetime is set.
    pub(crate) creation: Option<Creation>,
    /// A rolling refresh is due: save the session although it is unmodified.
    pub(crate) needs_refresh: bool,
}

/// What was learnt while loading a session, besides its values.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Loaded {
    /// Its cookie verified with a fallback key.
    pub(crate) needs_resign: bool,
    /// When it was created, if tracked.
    pub(crate) creation: Option<Creation>,
    /// A rolling refresh is due.
    pub(crate) needs_refresh: bool,
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
    pub(crate) fn loaded(values: Map<String, Value>, loaded: Loaded) -> Self {
        Self {
            values,
            needs_resign: loaded.needs_resign,
            creation: loaded.creation,
            needs_refresh: loaded.needs_refresh,
            ..Self::default()
        }
    }

    /// A server-side session loaded from the record `id`.
    pub(crate) fn loaded_record(id: SessionId, values: Map<String, Value>, loaded: Loaded) -> Self {
        Self {
            id: Some(id),
            changes: ChangeLog::tracking(),
            ..Self::loaded(values, loaded)
        }
    }

    /// Sets `key` (the value is already in `values`) and records it.
    pub(crate) fn mark_set(&mut self, key: &str) {
        self.changes.set(key);
        self.modified = true;
    }

    /// Removes `key`, recording the change only when it was there.
    pub(crate) fn remove(&mut self, key: &str) -> Option<Value> {
        let removed = self.values.remove(key);
        if removed.is_some() {
            self.changes.remove(key);
            self.modified = true;
        }
        removed
    }

    /// Removes every key.
    pub(crate) fn clear(&mut self) {
        self.values.clear();
        self.changes.clear();
        self.modified = true;
    }

    /// Whether the response must carry something for this session.
    pub(crate) fn needs_save(&self) -> bool {
        self.modified || self.needs_resign || self.needs_refresh
    }

    /// Called once the session was written: a second save of the same request writes nothing,
    /// and a creation time that was written counts as stored.
    pub(crate) fn mark_saved(&mut self) {
        if let Some(creation) = &mut self.creation {
            creation.stored = true;
        }
        self.modified = false;
        self.needs_resign = false;
        self.regenerate = false;
        self.needs_refresh = false;
        self.changes.reset();
    }
}

impl SessionState {
    pub(crate) fn new(name: &str, backend_name: &str, backend: Backend, data: SessionData) -> Self {
        let mut names = String::with_capacity(name.len() + backend_name.len());
        names.push_str(name);
        names.push_str(backend_name);
        Self {
            names,
            name_len: name.len(),
            backend,
            data: Mutex::new(data),
        }
    }

    pub(crate) fn name(&self) -> &str {
        &self.names[..self.name_len]
    }

    pub(crate) fn backend(&self) -> &Backend {
        &self.backend
    }

    pub(crate) fn backend_name(&self) -> &str {
        &self.names[self.name_len..]
    }

    /// Locks the data. A panic in another holder cannot leave it half-changed in a way that
    /// matters (every change is a single map operation), so a poisoned lock is used as is.
    pub(crate) fn lock(&self) -> MutexGuard<'_, SessionData> {
        self.data.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
