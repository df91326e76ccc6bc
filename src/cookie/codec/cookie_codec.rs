//! [`CookieCodec`]: what the store needs of a cookie codec, implemented by both.

use time::{Duration, OffsetDateTime};

use super::private::PrivateCookieSerializer;
use super::signed::SecureCookieSerializer;
use super::verified::{VerifiedCookie, VerifyError};

/// Why a session could not be encoded into a cookie value.
pub(crate) type EncodeError = Box<dyn std::error::Error + Send + Sync>;

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
        super::signed::signed_len(json_len, now.unix_timestamp())
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
        super::private::sealed_len(json_len)
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
        self.deserialize_at(name, value, max_age, now)
    }
}
