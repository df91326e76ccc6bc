//! Flask's `SecureCookieSessionInterface`: itsdangerous' `URLSafeTimedSerializer`, salt
//! `cookie-session`, key derivation `hmac`, HMAC-SHA1, written `payload.timestamp.signature`
//! (timestamps big-endian bytes in base64); the JSON is Flask's tagged JSON.

use hmac::{Hmac, Mac};
use serde_json::Value;
use sha1::Sha1;
use time::{Duration, OffsetDateTime};

use super::encoding::big_endian_timestamp;
use super::refusal::Refusal;
use super::tagged_json;
use super::timed_signature::Scheme;
use crate::cookie::codec::VerifyError;

/// Flask's salt for session cookies.
const SALT: &[u8] = b"cookie-session";

const SCHEME: Scheme = Scheme {
    separator: '.',
    timestamp: big_endian_timestamp,
};

/// The signing key of `secret`, by itsdangerous' `hmac` key derivation:
/// `HMAC-SHA1(secret, salt)`. (HMAC takes a key of any length: `None` never happens.)
pub(crate) fn key(secret: &[u8]) -> Option<Hmac<Sha1>> {
    let mut mac = Hmac::<Sha1>::new_from_slice(secret).ok()?;
    mac.update(SALT);
    Hmac::<Sha1>::new_from_slice(&mac.finalize().into_bytes()).ok()
}

/// The session a Flask cookie `value` holds, signed with one of `keys` (derived from the
/// secrets).
pub(crate) fn read(
    keys: &[Hmac<Sha1>],
    value: &str,
    max_age: Option<Duration>,
    now: OffsetDateTime,
) -> Result<Value, Refusal> {
    let json = SCHEME.open(keys, value, max_age, now)?;
    let value: Value = serde_json::from_slice(&json).map_err(|_| VerifyError::BadPayload)?;
    Ok(tagged_json::untag(value))
}
