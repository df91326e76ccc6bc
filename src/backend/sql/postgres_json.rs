//! The JSON that PostgreSQL's saves bind: the keys a request set, as one object.

use serde_json::Value;

use crate::backend::changes::Changes;
use crate::backend::error::BackendError;

/// The keys `changes` sets, as the text of one JSON object.
pub(super) fn set_json(changes: &Changes) -> Result<String, BackendError> {
    serde_json::to_string(&SetObject(&changes.set))
        .map_err(|e| BackendError::new("could not encode the session values as JSON", e))
}

/// The keys a request set, serialised as one JSON object without copying the values.
struct SetObject<'a>(&'a [(String, Value)]);

impl serde::Serialize for SetObject<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.0.iter().map(|(key, value)| (key, value)))
    }
}
