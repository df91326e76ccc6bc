//! [`SessionMeta`]: what a session holds for the crate rather than for the application, under
//! reserved keys: its own lifetime, its CSRF secret, the user it belongs to, its metadata for a
//! devices page. (The creation time has rules of its own, in `expiry`.)

use serde_json::{Map, Value};

use crate::expiry::Expiry;
use crate::metadata::StoredMetadata;
use crate::reserved::{CSRF_KEY, EXPIRY_KEY, METADATA_KEY, SEAL_KEY, USER_KEY};

/// A session's metadata, taken out of its values when it is loaded and put back when it is
/// saved.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct SessionMeta {
    /// The lifetime it chose ([`Session::set_expiry`](crate::Session::set_expiry)).
    pub(crate) expiry: Option<Expiry>,
    /// The secret its CSRF tokens are made from.
    pub(crate) csrf_secret: Option<String>,
    /// The user it belongs to (server-side sessions).
    pub(crate) user_id: Option<String>,
    /// Its metadata for a devices page (server-side sessions).
    pub(crate) device: Option<Box<StoredMetadata>>,
    /// What a sealed record carries to its save (its own key), given back with every change.
    pub(crate) seal: Option<Value>,
}

impl SessionMeta {
    /// Takes the metadata out of `values`; what is not of the expected shape is dropped.
    pub(crate) fn take_from(values: &mut Map<String, Value>) -> Self {
        let string = |value: Value| match value {
            Value::String(text) => Some(text),
            _ => None,
        };
        Self {
            expiry: values
                .remove(EXPIRY_KEY)
                .and_then(|value| Expiry::from_value(&value)),
            csrf_secret: values.remove(CSRF_KEY).and_then(string),
            user_id: values.remove(USER_KEY).and_then(string),
            device: values
                .remove(METADATA_KEY)
                .and_then(StoredMetadata::from_owned)
                .map(Box::new),
            seal: values.remove(SEAL_KEY),
        }
    }

    /// The entries to store: the reserved key and value of every piece that is set.
    pub(crate) fn entries(&self) -> impl Iterator<Item = (&'static str, Value)> + '_ {
        [
            self.expiry.map(|expiry| (EXPIRY_KEY, expiry.to_value())),
            self.csrf_secret
                .as_ref()
                .map(|secret| (CSRF_KEY, Value::from(secret.as_str()))),
            self.user_id
                .as_ref()
                .map(|user| (USER_KEY, Value::from(user.as_str()))),
            self.device
                .as_ref()
                .map(|device| (METADATA_KEY, device.to_value())),
        ]
        .into_iter()
        .flatten()
    }

    /// The reserved keys of the pieces that are not set, to remove from a stored record.
    pub(crate) fn unset_keys(&self) -> impl Iterator<Item = &'static str> + '_ {
        [
            (self.expiry.is_none(), EXPIRY_KEY),
            (self.csrf_secret.is_none(), CSRF_KEY),
            (self.user_id.is_none(), USER_KEY),
            (self.device.is_none(), METADATA_KEY),
        ]
        .into_iter()
        .filter_map(|(unset, key)| unset.then_some(key))
    }

    /// Whether the session holds something for the crate that must survive: a CSRF secret or a
    /// user. (A lifetime or metadata alone is nothing to keep.)
    pub(crate) fn holds_state(&self) -> bool {
        self.csrf_secret.is_some() || self.user_id.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use time::Duration;

    #[test]
    fn taken_out_and_put_back() {
        let mut values = json!({
            "a": 1,
            "_expiry": {"idle": 60},
            "_csrf": "secret",
            "_user": 7,
        })
        .as_object()
        .cloned()
        .unwrap_or_default();
        let meta = SessionMeta::take_from(&mut values);
        assert_eq!(Value::Object(values), json!({"a": 1}));
        assert_eq!(
            meta.expiry,
            Some(Expiry::OnInactivity(Duration::seconds(60)))
        );
        assert_eq!(meta.csrf_secret.as_deref(), Some("secret"));
        assert_eq!(meta.user_id, None, "a user id is a string");
        assert_eq!(meta.entries().count(), 2);
        assert_eq!(
            meta.unset_keys().collect::<Vec<_>>(),
            [USER_KEY, METADATA_KEY]
        );
        assert!(meta.holds_state());
        assert!(!SessionMeta::default().holds_state());
    }
}
