//! [`SessionHandle`]: the name a devices page, an event or a log gives a session instead of its
//! id, which is a bearer secret.

use std::fmt;
use std::str::FromStr;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::Mac;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::id::SessionId;
use crate::key::DerivedKey;

/// The purpose of the key that makes handles.
const HANDLE_PURPOSE: &str = "axum-session-store/session-handle/v1";

/// How many bytes of the keyed hash a handle keeps.
const HANDLE_BYTES: usize = 16;

/// An opaque, stable name for one server-side session: a keyed hash of its id, which cannot be
/// turned back into the id, so it can go in a page, a form, a log or an audit trail where the
/// id (a bearer secret) must not.
///
/// The same session has the same handle until its id changes
/// ([`regenerate_id`](crate::Session::regenerate_id), a login); handles are keyed with the
/// primary secret key, so they change when it rotates. It is 22 URL-safe characters.
///
/// ```
/// use axum_session_store::session::SessionHandle;
///
/// let handle: SessionHandle = "AAAAAAAAAAAAAAAAAAAAAA".parse()?;
/// assert_eq!(handle.to_string(), "AAAAAAAAAAAAAAAAAAAAAA");
/// assert!("not a handle".parse::<SessionHandle>().is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SessionHandle([u8; HANDLE_BYTES]);

impl SessionHandle {
    /// The handle as text (22 URL-safe base64 characters).
    pub fn to_text(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.0)
    }
}

impl fmt::Display for SessionHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_text())
    }
}

impl fmt::Debug for SessionHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SessionHandle({self})")
    }
}

/// The text is not a session handle: 22 URL-safe base64 characters.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("not a session handle: a handle is 22 URL-safe base64 characters")]
pub struct InvalidHandle;

impl FromStr for SessionHandle {
    type Err = InvalidHandle;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let mut bytes = [0; HANDLE_BYTES];
        match URL_SAFE_NO_PAD.decode_slice(text.as_bytes(), &mut bytes) {
            Ok(HANDLE_BYTES) if text.len() == 22 => Ok(Self(bytes)),
            _ => Err(InvalidHandle),
        }
    }
}

impl Serialize for SessionHandle {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_text())
    }
}

impl<'de> Deserialize<'de> for SessionHandle {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// The key that makes the handles of one config.
#[derive(Debug)]
pub(crate) struct HandleKey(DerivedKey);

impl HandleKey {
    /// The key derived from `secret`.
    pub(crate) fn derive(secret: &[u8]) -> Self {
        Self(DerivedKey::derive(secret, HANDLE_PURPOSE))
    }

    /// The handle of the session `id`.
    pub(crate) fn handle(&self, id: &SessionId) -> SessionHandle {
        let mut mac = self.0.mac();
        mac.update(id.as_str().as_bytes());
        let digest = mac.finalize().into_bytes();
        let mut bytes = [0; HANDLE_BYTES];
        bytes.copy_from_slice(&digest[..HANDLE_BYTES]);
        SessionHandle(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_handle_is_stable_keyed_and_round_trips() {
        let key = HandleKey::derive(b"an example secret, at least 32 bytes long");
        let other = HandleKey::derive(b"another secret, at least 32 bytes long!!");
        let id = SessionId::generate().unwrap();
        let handle = key.handle(&id);
        assert_eq!(handle, key.handle(&id));
        assert_ne!(handle, other.handle(&id));
        assert_ne!(handle, key.handle(&SessionId::generate().unwrap()));
        let text = handle.to_string();
        assert_eq!(text.len(), 22);
        assert!(!text.contains(id.as_str()));
        assert_eq!(text.parse::<SessionHandle>(), Ok(handle.clone()));
        let json = serde_json::to_string(&handle).unwrap();
        assert_eq!(
            serde_json::from_str::<SessionHandle>(&json).unwrap(),
            handle
        );
        for bad in ["", "short", &format!("{text}A"), "!!!!!!!!!!!!!!!!!!!!!!"] {
            assert_eq!(bad.parse::<SessionHandle>(), Err(InvalidHandle), "{bad:?}");
        }
    }
}
