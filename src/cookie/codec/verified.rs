//! What reading a cookie value gives: [`VerifiedCookie`] or [`VerifyError`], and the checks both
//! codecs share (the length limit, the age window).

use serde_json::{Map, Value};
use time::{Duration, OffsetDateTime};

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
    pub(super) fn from_json(
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
pub(crate) fn check_age(
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
