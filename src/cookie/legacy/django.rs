//! Django's `signed_cookies` session backend: `django.core.signing.dumps(session,
//! compress=True, salt=...)`, written `payload:timestamp:signature`, the timestamp in base62,
//! the signature HMAC-SHA256 under `SHA256(salt + "signer" + SECRET_KEY)`.

use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::{Digest, Sha256};
use time::{Duration, OffsetDateTime};

use super::encoding::base62;
use super::refusal::Refusal;
use super::timed_signature::Scheme;
use crate::cookie::codec::VerifyError;

/// The salt of the `signed_cookies` backend, and the suffix `Signer` adds to it.
const SALT: &[u8] = b"django.contrib.sessions.backends.signed_cookiessigner";

const SCHEME: Scheme = Scheme {
    separator: ':',
    timestamp: base62,
};

/// The signing key of `secret`, as `salted_hmac` makes it: `SHA256(salt + "signer" +
/// secret)`. (HMAC takes a key of any length: `None` never happens.)
pub(crate) fn key(secret: &[u8]) -> Option<Hmac<Sha256>> {
    let mut hash = Sha256::new();
    hash.update(SALT);
    hash.update(secret);
    Hmac::<Sha256>::new_from_slice(&hash.finalize()).ok()
}

/// The session a Django cookie `value` holds, signed with one of `keys` (derived from the
/// secrets).
pub(crate) fn read(
    keys: &[Hmac<Sha256>],
    value: &str,
    max_age: Option<Duration>,
    now: OffsetDateTime,
) -> Result<Value, Refusal> {
    let json = SCHEME.open(keys, value, max_age, now)?;
    serde_json::from_slice(&json).map_err(|_| VerifyError::BadPayload.into())
}
