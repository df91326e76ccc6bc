//! [`Changes`]: what a request did to a session, sent to backends instead of whole records.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

/// The changes a request made to a session: cleared or not, keys removed, keys set.
///
/// Backends apply them to the stored record atomically, in this order: clear (when `cleared`),
/// then remove `removed`, then set `set`. `removed` and `set` never share a key. Applying
/// changes rather than replacing records means two concurrent requests that change different
/// keys of one session both keep their change.
///
/// ```
/// use axum_session_store::backend::Changes;
/// use serde_json::json;
///
/// let mut record = json!({"a": 1, "b": 2}).as_object().unwrap().clone();
/// let changes = Changes::new().remove("a").set("c", 3);
/// changes.apply_to(&mut record);
/// assert_eq!(serde_json::Value::Object(record), json!({"b": 2, "c": 3}));
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct Changes {
    /// Every key stored before this request was removed.
    pub cleared: bool,
    /// Keys removed.
    pub removed: Vec<String>,
    /// Keys set, with their new values.
    pub set: Vec<(String, Value)>,
}

impl Changes {
    /// No change.
    pub fn new() -> Self {
        Self::default()
    }

    /// These changes, then every key removed: a cleared record, with nothing removed or set.
    #[must_use]
    pub fn clear(self) -> Self {
        Self {
            cleared: true,
            removed: Vec::new(),
            set: Vec::new(),
        }
    }

    /// These changes, then `key` removed.
    #[must_use]
    pub fn remove(mut self, key: impl Into<String>) -> Self {
        let key = key.into();
        self.set.retain(|(set, _)| *set != key);
        if !self.removed.contains(&key) {
            self.removed.push(key);
        }
        self
    }

    /// These changes, then `key` set to `value`.
    #[must_use]
    pub fn set(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        let key = key.into();
        self.removed.retain(|removed| *removed != key);
        self.set.retain(|(set, _)| *set != key);
        self.set.push((key, value.into()));
        self
    }

    /// Applies the changes to a record held in memory.
    ///
    /// ```
    /// use axum_session_store::backend::Changes;
    /// use serde_json::json;
    ///
    /// let mut record = json!({"a": 1, "b": 2}).as_object().unwrap().clone();
    /// let changes = Changes::new().clear().set("c", 3);
    /// changes.apply_to(&mut record);
    /// assert_eq!(serde_json::Value::Object(record), json!({"c": 3}));
    /// ```
    pub fn apply_to(&self, record: &mut Map<String, Value>) {
        if self.cleared {
            record.clear();
        }
        for key in &self.removed {
            record.remove(key);
        }
        for (key, value) in &self.set {
            match record.get_mut(key) {
                Some(slot) => *slot = value.clone(),
                None => {
                    record.insert(key.clone(), value.clone());
                }
            }
        }
    }

    /// Whether applying the changes would do nothing.
    ///
    /// ```
    /// use axum_session_store::backend::Changes;
    ///
    /// assert!(Changes::new().is_empty());
    /// assert!(!Changes::new().clear().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        !self.cleared && self.removed.is_empty() && self.set.is_empty()
    }
}

/// Which keys a request touched; the values are read from the session when it is saved, so
/// tracking costs no clone of a value. Only sessions loaded from a server-side record track
/// (cookie sessions and new records are written whole): the default log records nothing.
#[derive(Clone, Debug, Default)]
pub(crate) struct ChangeLog {
    tracking: bool,
    cleared: bool,
    set: BTreeSet<String>,
    removed: BTreeSet<String>,
}

impl ChangeLog {
    /// A log that records changes.
    pub(crate) fn tracking() -> Self {
        Self {
            tracking: true,
            ..Self::default()
        }
    }

    pub(crate) fn set(&mut self, key: &str) {
        if !self.tracking {
            return;
        }
        self.removed.remove(key);
        if !self.set.contains(key) {
            self.set.insert(key.to_owned());
        }
    }

    pub(crate) fn remove(&mut self, key: &str) {
        if !self.tracking {
            return;
        }
        self.set.remove(key);
        self.removed.insert(key.to_owned());
    }

    pub(crate) fn clear(&mut self) {
        self.cleared = true;
        self.set.clear();
        self.removed.clear();
    }

    /// The changes, with the current values of the keys that were set.
    pub(crate) fn to_changes(&self, values: &Map<String, Value>) -> Changes {
        Changes {
            cleared: self.cleared,
            removed: self.removed.iter().cloned().collect(),
            set: self
                .set
                .iter()
                .filter_map(|key| Some((key.clone(), values.get(key)?.clone())))
                .collect(),
        }
    }

    pub(crate) fn reset(&mut self) {
        *self = Self {
            tracking: self.tracking,
            ..Self::default()
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn log_keeps_the_last_word_per_key() {
        let values = json!({"a": 1, "b": 2}).as_object().unwrap().clone();
        let mut log = ChangeLog::tracking();
        log.set("a");
        log.remove("a");
        log.remove("b");
        log.set("b");
        assert_eq!(
            log.to_changes(&values),
            Changes {
                cleared: false,
                removed: vec!["a".into()],
                set: vec![("b".into(), json!(2))]
            }
        );
        log.clear();
        log.set("a");
        assert_eq!(
            log.to_changes(&values),
            Changes {
                cleared: true,
                removed: vec![],
                set: vec![("a".into(), json!(1))]
            }
        );
    }
}
