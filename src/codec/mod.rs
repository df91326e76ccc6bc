//! Cookie codecs: the signed format (webapp2's `payload|timestamp|signature`) and the sealed
//! (encrypted) one, with the checks they share. The codecs know nothing of sessions, backends
//! or HTTP.

use serde::Serialize;
use serde_json::{Map, Value};
use time::{Duration, OffsetDateTime};

mod private;
mod signed;

pub use private::{PrivateCookieSerializer, SealError};
pub use signed::SecureCookieSerializer;

/// The longest cookie value that is read at all; longer values are refused before any decoding.
pub const MAX_COOKIE_VALUE_LEN: usize = 4096;

/// How far in the future a timestamp may be (clock skew between servers) before it is refused.
pub const MAX_CLOCK_SKEW: Duration = Duration::seconds(60);

/// A cookie value that verified: its data and what the signature said about it.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct VerifiedCookie {
    /// The JSON object the value carried.
    pub data: Map<String, Value>,
    /// When the value was signed.
    pub signed_at: OffsetDateTime,
    /// True when a fallback key, not the primary one, verified the signature: the value should
    /// be signed again with the primary key.
    pub signed_with_fallback: bool,
}

/// Why a cookie value was not accepted. Each case reads as "no session".
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// The value is longer than [`MAX_COOKIE_VALUE_LEN`]; it was not decoded.
    #[error("cookie value is {len} bytes, over the {MAX_COOKIE_VALUE_LEN}-byte limit")]
    TooLong {
        /// Length of the value in bytes.
        len: usize,
    },
    /// The value does not have the shape `payload|timestamp|signature`.
    #[error("cookie value is not of the form `payload|timestamp|signature`")]
    Malformed,
    /// The signature (or, for a sealed cookie, the authentication tag) does not match: another
    /// key, another cookie name, or a changed value.
    #[error("cookie failed authentication (another key, another cookie name, or a changed value)")]
    BadSignature,
    /// The value was signed longer ago than the max age allows.
    #[error("cookie expired {expired_for} ago")]
    Expired {
        /// How long ago the value stopped being valid.
        expired_for: Duration,
    },
    /// The timestamp lies further in the future than clock skew explains.
    #[error("cookie timestamp is {ahead} in the future")]
    FromTheFuture {
        /// How far ahead of this server's clock the timestamp is.
        ahead: Duration,
    },
    /// The signed payload is not URL-safe base64 of JSON.
    #[error("cookie payload is not base64-encoded JSON")]
    BadPayload,
    /// The signed payload is JSON but not a JSON object.
    #[error("cookie payload is not a JSON object")]
    NotAnObject,
}

impl VerifiedCookie {
    /// Parses authenticated JSON bytes: only a JSON object is a session.
    fn from_json(
        json: &[u8],
        signed_at: OffsetDateTime,
        signed_with_fallback: bool,
    ) -> Result<Self, VerifyError> {
        let data = match serde_json::from_slice::<Value>(json) {
            Ok(Value::Object(data)) => data,
            Ok(_) => return Err(VerifyError::NotAnObject),
            Err(_) => return Err(VerifyError::BadPayload),
        };
        Ok(Self {
            data,
            signed_at,
            signed_with_fallback,
        })
    }
}

/// Refuses a timestamp further in the future than clock skew explains, older than `max_age`, or
/// outside what a date can hold; returns the instant it stands for.
fn check_age(
    timestamp: i64,
    max_age: Option<Duration>,
    now: OffsetDateTime,
) -> Result<OffsetDateTime, VerifyError> {
    // Saturating arithmetic: any timestamp and any max age give an answer, never a panic.
    let age_seconds = now.unix_timestamp().saturating_sub(timestamp);
    let age = Duration::seconds(age_seconds);
    if age_seconds < -MAX_CLOCK_SKEW.whole_seconds() {
        return Err(VerifyError::FromTheFuture {
            ahead: Duration::seconds(age_seconds.saturating_neg()),
        });
    }
    if let Some(max_age) = max_age {
        if age > max_age {
            return Err(VerifyError::Expired {
                expired_for: age.saturating_sub(max_age),
            });
        }
    }
    OffsetDateTime::from_unix_timestamp(timestamp).map_err(|_| VerifyError::Malformed)
}

/// Why a session could not be encoded into a cookie value.
pub(crate) type EncodeError = Box<dyn std::error::Error + Send + Sync>;

/// A session as its cookie carries it: the values, plus the creation time when an absolute
/// lifetime is configured (under the reserved key `_created`).
#[derive(Debug)]
pub(crate) struct SessionPayload<'a> {
    pub(crate) values: &'a Map<String, Value>,
    pub(crate) created_at: Option<i64>,
}

impl Serialize for SessionPayload<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let extra = usize::from(self.created_at.is_some());
        let mut map = serializer.serialize_map(Some(self.values.len() + extra))?;
        for (key, value) in self.values {
            map.serialize_entry(key, value)?;
        }
        if let Some(created_at) = self.created_at {
            map.serialize_entry(crate::expiry::CREATED_KEY, &created_at)?;
        }
        map.end()
    }
}

/// What the store needs of a cookie codec: turn a session's JSON into a cookie value, written
/// straight into the `Set-Cookie` header, and a cookie value back into a session.
pub(crate) trait CookieCodec: Send + Sync {
    /// The exact length of the value that [`write_value`](Self::write_value) appends.
    fn value_len(&self, json_len: usize, now: OffsetDateTime) -> usize;
    /// Appends the cookie value carrying `json` for the cookie `name` to `out`.
    fn write_value(
        &self,
        name: &str,
        json: &[u8],
        now: OffsetDateTime,
        out: &mut String,
    ) -> Result<(), EncodeError>;
    fn decode(
        &self,
        name: &str,
        value: &str,
        max_age: Option<Duration>,
        now: OffsetDateTime,
    ) -> Result<VerifiedCookie, VerifyError>;
}

impl CookieCodec for SecureCookieSerializer {
    fn value_len(&self, json_len: usize, now: OffsetDateTime) -> usize {
        signed::signed_len(json_len, now.unix_timestamp())
    }
    fn write_value(
        &self,
        name: &str,
        json: &[u8],
        now: OffsetDateTime,
        out: &mut String,
    ) -> Result<(), EncodeError> {
        self.write_signed(name, json, now.unix_timestamp(), out);
        Ok(())
    }
    fn decode(
        &self,
        name: &str,
        value: &str,
        max_age: Option<Duration>,
        now: OffsetDateTime,
    ) -> Result<VerifiedCookie, VerifyError> {
        self.deserialize_at(name, value, max_age, now)
    }
}

impl CookieCodec for PrivateCookieSerializer {
    fn value_len(&self, json_len: usize, _now: OffsetDateTime) -> usize {
        private::sealed_len(json_len)
    }
    fn write_value(
        &self,
        name: &str,
        json: &[u8],
        now: OffsetDateTime,
        out: &mut String,
    ) -> Result<(), EncodeError> {
        Ok(self.write_sealed(name, json, now, out)?)
    }
    fn decode(
        &self,
        name: &str,
        value: &str,
        max_age: Option<Duration>,
        now: OffsetDateTime,
    ) -> Result<VerifiedCookie, VerifyError> {
        self.open_at(name, value, max_age, now)
    }
}

/// A typical session's JSON fits: most encodings never grow their buffer.
const JSON_CAPACITY: usize = 256;

/// Serializes `value` as JSON bytes.
pub(crate) fn to_json<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, serde_json::Error> {
    let mut json = Vec::with_capacity(JSON_CAPACITY);
    serde_json::to_writer(&mut json, value)?;
    Ok(json)
}
