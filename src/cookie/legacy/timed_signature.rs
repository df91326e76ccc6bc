//! The scheme itsdangerous (Flask) and `django.core.signing` share: `payload SEP timestamp SEP
//! signature`, the signature URL-safe base64 of an HMAC over `payload SEP timestamp`, and a
//! payload starting with `.` compressed with zlib.

use base64::Engine;
use hmac::Mac;
use time::{Duration, OffsetDateTime};

use super::encoding::{inflate, DecodeError, URL_SAFE};
use super::refusal::Refusal;
use crate::cookie::codec::{check_age, VerifyError};

/// How one framework writes the scheme: its separator and its timestamps.
pub(crate) struct Scheme {
    /// `.` for itsdangerous, `:` for Django.
    pub(crate) separator: char,
    /// The timestamp's text as Unix seconds.
    pub(crate) timestamp: fn(&str) -> Result<i64, DecodeError>,
}

impl Scheme {
    /// The JSON bytes `value` carries, if one of `keys` signed it no longer than `max_age`
    /// before `now`.
    pub(crate) fn open<M: Mac + Clone>(
        &self,
        keys: &[M],
        value: &str,
        max_age: Option<Duration>,
        now: OffsetDateTime,
    ) -> Result<Vec<u8>, Refusal> {
        let sep = self.separator;
        let (signed, signature) = value.rsplit_once(sep).ok_or(VerifyError::Malformed)?;
        let (payload, timestamp) = signed.rsplit_once(sep).ok_or(VerifyError::Malformed)?;
        let signature = URL_SAFE
            .decode(signature)
            .map_err(|_| VerifyError::BadSignature)?;
        let verified = keys.iter().any(|key| {
            let mut mac = key.clone();
            mac.update(signed.as_bytes());
            mac.verify_slice(&signature).is_ok()
        });
        if !verified {
            return Err(VerifyError::BadSignature.into());
        }
        let timestamp = (self.timestamp)(timestamp).map_err(|_| VerifyError::Malformed)?;
        check_age(timestamp, max_age, now)?;
        let (compressed, payload) = match payload.strip_prefix('.') {
            Some(payload) => (true, payload),
            None => (false, payload),
        };
        let json = URL_SAFE
            .decode(payload)
            .map_err(|_| VerifyError::BadPayload)?;
        if compressed {
            return Ok(inflate(&json)?);
        }
        Ok(json)
    }
}
