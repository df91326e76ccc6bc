//! A sealed record's layout, and the translation of records and changes into it and back.
//!
//! Each record has a key of its own (64 random bytes: an XChaCha20-Poly1305 key and an HMAC
//! key), stored wrapped under the config's key in the field `_key`. Every session key `k`
//! becomes the field `~` + base64url(HMAC(record key, k)[..16]), whose value is `[k, value]`
//! sealed under the record key with the field's name as associated data: neither names nor
//! values are readable, and a value moved to another field does not open. Two fields stay
//! where the backends look for them: `_user` holds the user id's MAC under the config's key
//! (the user index finds records by it; the id itself is sealed like any key) and `_meta` the
//! metadata sealed under the config's key (devices pages list it without the records' keys).
//!
//! The record key never changes in a record's life, so a request that saves only what it
//! changed seals it under the same key as every other request, and rewrapping `_key` under a
//! new primary secret is safe whoever wins a race: every writer wraps the same key.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::Mac;
use serde_json::Value;

use super::keys::{open_text, seal_text, RecordKeys};
use crate::aead::AeadRing;
use crate::backend::changes::Changes;
use crate::backend::error::BackendError;
use crate::backend::session_backend::Record;
use crate::key::HmacSha256;
use crate::reserved::{METADATA_KEY, SEAL_KEY, USER_KEY};

/// The field of a sealed record that holds its own key, wrapped.
pub(super) const KEY_FIELD: &str = "_key";

/// What starts the name of a field that holds a sealed session key.
const FIELD_PREFIX: &str = "~";

/// A record's own key.
pub(super) struct RecordKey {
    bytes: [u8; 64],
    cipher: AeadRing,
    /// Keyed when a field is first named: a load that saves nothing never needs it.
    names: std::cell::OnceCell<HmacSha256>,
}

impl RecordKey {
    fn from_bytes(bytes: [u8; 64]) -> Self {
        let mut cipher = [0u8; 32];
        cipher.copy_from_slice(&bytes[..32]);
        Self {
            bytes,
            cipher: AeadRing::one(&cipher),
            names: std::cell::OnceCell::new(),
        }
    }

    /// A fresh random key.
    pub(super) fn generate() -> Result<Self, BackendError> {
        let mut bytes = [0u8; 64];
        crate::id::fill_random(&mut bytes)
            .map_err(|error| BackendError::new("could not draw a session record's key", error))?;
        Ok(Self::from_bytes(bytes))
    }

    /// The key `_key` holds, if one of `keys` opens it, and whether that was a fallback.
    pub(super) fn unwrap(keys: &RecordKeys, wrapped: &str) -> Option<(Self, bool)> {
        let (bytes, fallback) = open_text(&keys.wrap, KEY_FIELD.as_bytes(), wrapped)?;
        Some((Self::from_bytes(bytes.try_into().ok()?), fallback))
    }

    /// The value of `_key`: this key wrapped under the primary secret's.
    fn wrap(&self, keys: &RecordKeys) -> Result<String, BackendError> {
        seal_text(&keys.wrap, KEY_FIELD.as_bytes(), &self.bytes)
    }

    /// The field that holds the session key `key`.
    fn field(&self, key: &str) -> String {
        let names = self.names.get_or_init(|| {
            // An HMAC key of any length is accepted.
            <HmacSha256 as Mac>::new_from_slice(&self.bytes[32..])
                .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"))
        });
        let tag = names
            .clone()
            .chain_update(key.as_bytes())
            .finalize()
            .into_bytes();
        let mut field = String::from(FIELD_PREFIX);
        URL_SAFE_NO_PAD.encode_string(&tag[..16], &mut field);
        field
    }

    /// `key` and `value`, sealed into `field`.
    fn seal(&self, field: &str, key: &str, value: &Value) -> Result<String, BackendError> {
        let json = serde_json::to_vec(&(key, value))
            .map_err(|error| BackendError::new("could not encode a session value", error))?;
        seal_text(&self.cipher, field.as_bytes(), &json)
    }

    /// The key and value sealed into `field`.
    fn open(&self, field: &str, sealed: &Value) -> Option<(String, Value)> {
        let (json, _) = open_text(&self.cipher, field.as_bytes(), sealed.as_str()?)?;
        serde_json::from_slice(&json).ok()
    }
}

/// What a request carries of a sealed record it loaded, under [`SEAL_KEY`], back to its save:
/// the record's key, and what the save must write again under the primary secret.
pub(crate) struct Token {
    pub(super) key: RecordKey,
    /// `_key` was wrapped under a fallback secret.
    rewrap: bool,
    /// The user id, when `_user` holds its MAC under a fallback secret (or none).
    user: Option<String>,
    /// The metadata, when it was sealed under a fallback secret.
    metadata: Option<Value>,
}

impl Token {
    fn to_value(&self) -> Value {
        Value::Array(vec![
            URL_SAFE_NO_PAD.encode(self.key.bytes).into(),
            self.rewrap.into(),
            self.user.clone().into(),
            self.metadata.clone().unwrap_or(Value::Null),
        ])
    }

    /// The token a save finds among its changes.
    pub(super) fn of(changes: &Changes) -> Option<Self> {
        let (_, value) = changes.set.iter().find(|(key, _)| key == SEAL_KEY)?;
        Self::from_value(value)
    }

    /// The token a record moved from another sealed backend carries.
    pub(super) fn of_record(record: &Record) -> Option<Self> {
        Self::from_value(record.get(SEAL_KEY)?)
    }

    fn from_value(value: &Value) -> Option<Self> {
        let [key, rewrap, user, metadata] = value.as_array()?.as_slice() else {
            return None;
        };
        let bytes = URL_SAFE_NO_PAD.decode(key.as_str()?).ok()?;
        Some(Self {
            key: RecordKey::from_bytes(bytes.try_into().ok()?),
            rewrap: rewrap.as_bool()?,
            user: user.as_str().map(str::to_owned),
            metadata: Some(metadata.clone()).filter(|m| !m.is_null()),
        })
    }

    /// Whether the record the token `value` came from holds something under a fallback
    /// secret, which its next save writes again: a request that only read it saves it then,
    /// as its id cookie is signed again.
    pub(crate) fn is_stale(value: &Value) -> bool {
        // Read from the token's value, without decoding its key: every load asks.
        match value.as_array().map(Vec::as_slice) {
            Some([_, rewrap, user, metadata]) => {
                rewrap.as_bool() == Some(true) || !user.is_null() || !metadata.is_null()
            }
            _ => false,
        }
    }

    /// A token for `key`, with nothing to write again.
    pub(super) fn fresh(key: RecordKey) -> Self {
        Self {
            key,
            rewrap: false,
            user: None,
            metadata: None,
        }
    }
}

/// Why a stored record could not be opened.
#[derive(Debug)]
pub(super) enum Unopened {
    /// It has no `_key`: written before the storage was sealed, or by something else.
    Unsealed,
    /// None of the configured secrets opens its `_key`.
    UnknownKey,
    /// A field does not open under the record's key.
    Corrupt,
}

/// The session record that `stored` seals, with its [`Token`] under [`SEAL_KEY`].
pub(super) fn open(keys: &RecordKeys, stored: Record) -> Result<Record, Unopened> {
    let wrapped = stored
        .get(KEY_FIELD)
        .and_then(Value::as_str)
        .ok_or(Unopened::Unsealed)?;
    let (key, rewrap) = RecordKey::unwrap(keys, wrapped).ok_or(Unopened::UnknownKey)?;
    let mut record = Record::new();
    let mut token = Token {
        rewrap,
        ..Token::fresh(key)
    };
    let mut user_digest = None;
    for (field, value) in stored {
        if field.starts_with(FIELD_PREFIX) {
            let (key, value) = token.key.open(&field, &value).ok_or(Unopened::Corrupt)?;
            record.insert(key, value);
        } else if field == USER_KEY {
            user_digest = value.as_str().map(str::to_owned);
        } else if field == METADATA_KEY {
            // Sealed under a secret no longer configured: the metadata is lost, not the session.
            let opened = value
                .as_str()
                .and_then(|sealed| open_text(&keys.metadata, METADATA_KEY.as_bytes(), sealed));
            if let Some((metadata, fallback)) = opened.and_then(|(json, fallback)| {
                Some((serde_json::from_slice::<Value>(&json).ok()?, fallback))
            }) {
                token.metadata = fallback.then(|| metadata.clone());
                record.insert(field, metadata);
            }
        }
    }
    if let Some(Value::String(user)) = record.get(USER_KEY) {
        if user_digest.as_deref() != Some(keys.user_digest(user).as_str()) {
            token.user = Some(user.clone());
        }
    }
    record.insert(SEAL_KEY.to_owned(), token.to_value());
    Ok(record)
}

/// `record` sealed under `key` (a fresh one, or the one its token carries over from another
/// backend).
pub(super) fn seal(
    keys: &RecordKeys,
    key: &RecordKey,
    record: &Record,
) -> Result<Record, BackendError> {
    let mut sealed = Record::new();
    sealed.insert(KEY_FIELD.to_owned(), key.wrap(keys)?.into());
    for (name, value) in record {
        sealed.extend(entry(keys, key, name, value)?);
    }
    Ok(sealed)
}

/// `changes` in sealed fields, under the record key `token` carries, with what the token says
/// to write again.
pub(super) fn seal_changes(
    keys: &RecordKeys,
    token: &Token,
    changes: &Changes,
) -> Result<Changes, BackendError> {
    let key = &token.key;
    let mut sealed = Changes::new();
    sealed.cleared = changes.cleared;
    for name in &changes.removed {
        sealed.removed.extend(fields(key, name));
    }
    for (name, value) in &changes.set {
        sealed.set.extend(entry(keys, key, name, value)?);
    }
    let untouched = |name: &str| {
        !changes.cleared
            && !changes.removed.iter().any(|removed| removed == name)
            && !changes.set.iter().any(|(set, _)| set == name)
    };
    if changes.cleared || token.rewrap {
        sealed
            .set
            .push((KEY_FIELD.to_owned(), key.wrap(keys)?.into()));
    }
    if let Some(user) = token.user.as_deref().filter(|_| untouched(USER_KEY)) {
        sealed
            .set
            .push((USER_KEY.to_owned(), keys.user_digest(user).into()));
    }
    if let Some(metadata) = token.metadata.as_ref().filter(|_| untouched(METADATA_KEY)) {
        sealed.set.extend(entry(keys, key, METADATA_KEY, metadata)?);
    }
    Ok(sealed)
}

/// The stored fields of the session key `name`, and their values.
fn entry(
    keys: &RecordKeys,
    key: &RecordKey,
    name: &str,
    value: &Value,
) -> Result<Vec<(String, Value)>, BackendError> {
    Ok(match name {
        SEAL_KEY => Vec::new(),
        METADATA_KEY => {
            let json = serde_json::to_vec(value)
                .map_err(|error| BackendError::new("could not encode session metadata", error))?;
            vec![(
                name.to_owned(),
                seal_text(&keys.metadata, name.as_bytes(), &json)?.into(),
            )]
        }
        _ => {
            let field = key.field(name);
            let sealed = key.seal(&field, name, value)?;
            let mut entries = vec![(field, sealed.into())];
            if let (USER_KEY, Some(user)) = (name, value.as_str()) {
                entries.push((name.to_owned(), keys.user_digest(user).into()));
            }
            entries
        }
    })
}

/// The stored fields of the session key `name`.
fn fields(key: &RecordKey, name: &str) -> Vec<String> {
    match name {
        SEAL_KEY => Vec::new(),
        METADATA_KEY => vec![name.to_owned()],
        USER_KEY => vec![key.field(name), name.to_owned()],
        _ => vec![key.field(name)],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn keys(secret: &[u8], fallbacks: &[Vec<u8>]) -> RecordKeys {
        RecordKeys::derive(secret, fallbacks)
    }

    fn record(value: Value) -> Record {
        value.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn a_sealed_record_opens_to_its_values_and_its_token_is_never_stored() {
        let keys = keys(&[1; 32], &[]);
        let key = RecordKey::generate().unwrap();
        let plain = record(json!({"cart": [1, 2], "_user": "ada", "_meta": {"label": "laptop"}}));
        let sealed = seal(&keys, &key, &plain).unwrap();
        let text = Value::Object(sealed.clone()).to_string();
        for readable in ["cart", "ada", "laptop"] {
            assert!(!text.contains(readable), "{readable} in {text}");
        }
        let mut opened = open(&keys, sealed).unwrap();
        let token = opened.remove(SEAL_KEY).unwrap();
        assert_eq!(opened, plain);
        let changes = Changes::new().set("cart", 3).set(SEAL_KEY, token);
        let token = Token::of(&changes).unwrap();
        let sealed_changes = seal_changes(&keys, &token, &changes).unwrap();
        assert_eq!(
            sealed_changes.set.len(),
            1,
            "the cart alone: {sealed_changes:?}"
        );
        assert!(!sealed_changes
            .set
            .iter()
            .any(|(field, _)| field == SEAL_KEY));
    }

    #[test]
    fn a_value_moved_to_another_field_or_an_unknown_secret_does_not_open() {
        let keys = keys(&[1; 32], &[]);
        let key = RecordKey::generate().unwrap();
        let mut sealed = seal(&keys, &key, &record(json!({"a": 1, "b": 2}))).unwrap();
        let (a, b) = (key.field("a"), key.field("b"));
        let moved = sealed[&a].clone();
        sealed.insert(b, moved);
        assert!(matches!(
            open(&keys, sealed.clone()),
            Err(Unopened::Corrupt)
        ));
        let other = self::keys(&[2; 32], &[]);
        assert!(matches!(open(&other, sealed), Err(Unopened::UnknownKey)));
        assert!(matches!(
            open(&keys, record(json!({"a": 1}))),
            Err(Unopened::Unsealed)
        ));
    }

    #[test]
    fn under_a_fallback_secret_the_key_user_and_metadata_are_written_again() {
        let old = keys(&[1; 32], &[]);
        let key = RecordKey::generate().unwrap();
        let plain = record(json!({"n": 1, "_user": "ada", "_meta": {"label": "laptop"}}));
        let sealed = seal(&old, &key, &plain).unwrap();
        let rotated = keys(&[2; 32], &[vec![1; 32]]);
        let mut opened = open(&rotated, sealed).unwrap();
        let token = opened.remove(SEAL_KEY).unwrap();
        let changes = Changes::new().set(SEAL_KEY, token);
        let token = Token::of(&changes).unwrap();
        let written = seal_changes(&rotated, &token, &changes).unwrap();
        let mut fields: Vec<_> = written
            .set
            .iter()
            .map(|(field, _)| field.as_str())
            .collect();
        fields.sort_unstable();
        assert_eq!(fields, [KEY_FIELD, METADATA_KEY, USER_KEY]);
        assert_eq!(written.set[1].1, Value::from(rotated.user_digest("ada")));
        assert!(written.removed.is_empty() && !written.cleared);
    }

    #[test]
    fn a_one_key_record_grows_to_this_size() {
        let keys = keys(&[1; 32], &[]);
        let key = RecordKey::generate().unwrap();
        let plain = record(json!({"n": 1}));
        let sealed = seal(&keys, &key, &plain).unwrap();
        let (plain, sealed) = (
            Value::Object(plain).to_string(),
            Value::Object(sealed).to_string(),
        );
        assert_eq!((plain.len(), sealed.len()), (7, 242), "{sealed}");
    }
}
