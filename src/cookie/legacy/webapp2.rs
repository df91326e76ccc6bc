//! webapp2 2.5.2's `webapp2_extras.securecookie`: `base64(json)|timestamp|hex(HMAC-SHA1(secret,
//! name|base64(json)|timestamp))`, the value perhaps in double quotes (old WebOb).

use hmac::{Hmac, Mac};
use serde_json::Value;
use sha1::Sha1;
use time::{Duration, OffsetDateTime};

use super::encoding::STANDARD;
use super::refusal::Refusal;
use crate::cookie::codec::{check_age, VerifyError};
use base64::Engine;

/// The session a webapp2 cookie `value` named `name` holds, signed with one of `keys` (the
/// secrets, as HMAC keys).
pub(crate) fn read(
    keys: &[Hmac<Sha1>],
    name: &str,
    value: &str,
    max_age: Option<Duration>,
    now: OffsetDateTime,
) -> Result<Value, Refusal> {
    // `Cookie._unquote`: the value inside double quotes. (Base64, digits and hex need no
    // escapes, so none is undone.)
    let value = value
        .strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .unwrap_or(value);
    let mut parts = value.split('|');
    let (Some(payload), Some(timestamp), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(VerifyError::Malformed.into());
    };
    let signature = lowercase_hex(signature).ok_or(VerifyError::BadSignature)?;
    let verified = keys.iter().any(|key| {
        let mut mac = key.clone();
        for (i, part) in [name, payload, timestamp].iter().enumerate() {
            if i > 0 {
                mac.update(b"|");
            }
            mac.update(part.as_bytes());
        }
        mac.verify_slice(&signature).is_ok()
    });
    if !verified {
        return Err(VerifyError::BadSignature.into());
    }
    let timestamp = decimal(timestamp).ok_or(VerifyError::Malformed)?;
    check_age(timestamp, max_age, now)?;
    let json = STANDARD
        .decode(payload)
        .map_err(|_| VerifyError::BadPayload)?;
    serde_json::from_slice(&json).map_err(|_| VerifyError::BadPayload.into())
}

/// The 20 bytes of a SHA-1 `hexdigest()` (40 lowercase hex digits, as Python writes them).
fn lowercase_hex(text: &str) -> Option<[u8; 20]> {
    let text = text.as_bytes();
    if text.len() != 40 {
        return None;
    }
    let nibble = |b: u8| match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        _ => None,
    };
    let mut bytes = [0u8; 20];
    for (byte, pair) in bytes.iter_mut().zip(text.chunks_exact(2)) {
        *byte = (nibble(pair[0])? << 4) | nibble(pair[1])?;
    }
    Some(bytes)
}

/// `str(int(time.time()))`: decimal digits, perhaps a leading `-`.
fn decimal(text: &str) -> Option<i64> {
    let digits = text.strip_prefix('-').unwrap_or(text);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_is_lowercase_and_whole() {
        let hex = "00ff".repeat(10);
        assert_eq!(lowercase_hex(&hex).map(|b| b[1]), Some(0xff));
        assert_eq!(lowercase_hex(&hex.to_uppercase()), None);
        assert_eq!(lowercase_hex(&hex[..38]), None);
        assert_eq!(lowercase_hex(&"zz".repeat(20)), None);
    }

    #[test]
    fn timestamps_are_plain_decimals() {
        assert_eq!(decimal("1700000000"), Some(1_700_000_000));
        assert_eq!(decimal("-5"), Some(-5));
        for bad in ["", "-", "+5", " 5", "5x", "99999999999999999999"] {
            assert_eq!(decimal(bad), None, "{bad:?}");
        }
    }
}
