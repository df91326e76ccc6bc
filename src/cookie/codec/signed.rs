//! The signed cookie format, `payload|timestamp|signature`, and the checks that read it back.
//!
//! - `payload`: compact JSON, URL-safe base64 without padding;
//! - `timestamp`: Unix seconds when the value was signed;
//! - `signature`: URL-safe base64 of HMAC-SHA256 over `name|payload|timestamp`, so a value
//!   copied into a cookie of another name does not verify.
//!
//! The codec knows nothing of sessions, backends or HTTP.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::Mac;
#[cfg(any(test, feature = "test-util"))]
use serde::Serialize;
#[cfg(any(test, feature = "test-util"))]
use serde_json::{Map, Value};
use time::{Duration, OffsetDateTime};

#[cfg(any(test, feature = "test-util"))]
use super::json::to_json;
use super::verified::{check_age, VerifiedCookie, VerifyError, MAX_COOKIE_VALUE_LEN};
use crate::key::{DerivedKey, KeyRing};

/// Length of an HMAC-SHA256 tag.
const SIGNATURE_LEN: usize = 32;

/// Length of an HMAC-SHA256 tag in unpadded base64: 32 bytes -> 43 characters.
const SIGNATURE_B64_LEN: usize = 43;

/// Payloads whose JSON fits in this many bytes are decoded without a heap allocation.
const INLINE_JSON_LEN: usize = 384;

/// The longest timestamp field: an `i64` has at most 19 digits.
const MAX_TIMESTAMP_DIGITS: usize = 19;

/// Signs and verifies cookie values in webapp2's `payload|timestamp|signature` format.
///
/// A signed value cannot be changed or moved to another cookie name without the secret, but
/// anyone holding the cookie can read its payload (it is only base64): keep secrets out of
/// cookie sessions, or use a server-side backend.
///
/// The serializer comes from a built config, with keys derived once:
///
/// ```
/// use axum_session_store::SessionConfig;
/// use serde_json::json;
///
/// let config = SessionConfig::builder()
///     .secret_key("a secret of at least thirty-two bytes!")
///     .build()?;
/// let serializer = config.serializer();
///
/// let cookie = serializer.serialize("session", &json!({ "user": "ada" }))?;
/// let data = serializer.deserialize("session", &cookie, None)?;
/// assert_eq!(data["user"], "ada");
///
/// // The same value under another cookie name does not verify.
/// assert!(serializer.deserialize("other", &cookie, None).is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
pub struct SecureCookieSerializer {
    keys: KeyRing,
}

impl SecureCookieSerializer {
    pub(crate) fn new(keys: KeyRing) -> Self {
        Self { keys }
    }

    #[cfg(any(test, feature = "test-util"))]
    /// Signs `value` for the cookie `name`, timestamped now.
    ///
    /// # Errors
    /// An I/O error (of kind `InvalidData`) when `value` cannot be serialized as JSON.
    ///
    /// ```
    /// use axum_session_store::SessionConfig;
    ///
    /// # let secret = "an example secret, at least 32 bytes long";
    /// let config = SessionConfig::builder().secret_key(secret).build()?;
    /// let serializer = config.serializer();
    /// let value = serializer.serialize("prefs", &serde_json::json!({"theme": "dark"}))?;
    /// assert_eq!(value.split('|').count(), 3, "payload|timestamp|signature");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn serialize<T: Serialize + ?Sized>(
        &self,
        name: &str,
        value: &T,
    ) -> Result<String, std::io::Error> {
        self.serialize_at(name, value, OffsetDateTime::now_utc())
    }

    #[cfg(any(test, feature = "test-util"))]
    /// Signs `value` for the cookie `name` with the given timestamp (for tests and tools).
    ///
    /// # Errors
    /// An I/O error (of kind `InvalidData`) when `value` cannot be serialized as JSON.
    ///
    /// ```
    /// use axum_session_store::SessionConfig;
    ///
    /// # let secret = "an example secret, at least 32 bytes long";
    /// let config = SessionConfig::builder().secret_key(secret).build()?;
    /// let serializer = config.serializer();
    /// let signed_at = time::OffsetDateTime::now_utc() - time::Duration::hours(2);
    /// let value = serializer.serialize_at("prefs", &serde_json::json!({}), signed_at)?;
    /// assert!(serializer.deserialize("prefs", &value, Some(time::Duration::hours(1))).is_err(), "too old");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn serialize_at<T: Serialize + ?Sized>(
        &self,
        name: &str,
        value: &T,
        signed_at: OffsetDateTime,
    ) -> Result<String, std::io::Error> {
        let json = to_json(value)?;
        Ok(self.sign_json(name, &json, signed_at.unix_timestamp()))
    }

    #[cfg(any(test, feature = "test-util"))]
    /// Signs already-encoded JSON bytes.
    pub(crate) fn sign_json(&self, name: &str, json: &[u8], timestamp: i64) -> String {
        let mut out = String::with_capacity(signed_len(json.len(), timestamp));
        self.write_signed(name, json, timestamp, &mut out);
        out
    }

    /// Appends the signed value of `json` to `out`, which must have room for
    /// [`signed_len`] more bytes to avoid growing.
    pub(crate) fn write_signed(&self, name: &str, json: &[u8], timestamp: i64, out: &mut String) {
        let start = out.len();
        URL_SAFE_NO_PAD.encode_string(json, out);
        out.push('|');
        out.push_str(itoa::Buffer::new().format(timestamp));
        let tag = signature(self.keys.primary(), name, &out[start..])
            .finalize()
            .into_bytes();
        out.push('|');
        URL_SAFE_NO_PAD.encode_string(tag, out);
    }

    #[cfg(any(test, feature = "test-util"))]
    /// Verifies a value of the cookie `name` and returns its data.
    ///
    /// `max_age`, when given, refuses values signed longer ago than that.
    ///
    /// # Errors
    /// A [`VerifyError`] saying why the value is not accepted.
    ///
    /// ```
    /// use axum_session_store::SessionConfig;
    ///
    /// # let secret = "an example secret, at least 32 bytes long";
    /// let config = SessionConfig::builder().secret_key(secret).build()?;
    /// let serializer = config.serializer();
    /// let value = serializer.serialize("prefs", &serde_json::json!({"a": 1}))?;
    /// assert_eq!(serializer.deserialize("prefs", &value, None)?["a"], 1);
    /// assert!(serializer.deserialize("other", &value, None).is_err(), "bound to its cookie name");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn deserialize(
        &self,
        name: &str,
        value: &str,
        max_age: Option<Duration>,
    ) -> Result<Map<String, Value>, VerifyError> {
        self.deserialize_at(name, value, max_age, OffsetDateTime::now_utc())
            .map(|verified| verified.data)
    }

    /// Verifies a value of the cookie `name` as of the instant `now`.
    ///
    /// The signature is checked (in constant time, with the primary key and then each fallback
    /// key) before the payload is decoded, so nothing unauthenticated is ever parsed.
    ///
    /// # Errors
    /// A [`VerifyError`] saying why the value is not accepted.
    ///
    /// ```
    /// use axum_session_store::SessionConfig;
    ///
    /// # let secret = "an example secret, at least 32 bytes long";
    /// let config = SessionConfig::builder().secret_key(secret).build()?;
    /// let serializer = config.serializer();
    /// let now = time::OffsetDateTime::now_utc();
    /// let value = serializer.serialize_at("prefs", &serde_json::json!({"a": 1}), now)?;
    /// let verified = serializer.deserialize_at("prefs", &value, None, now)?;
    /// assert_eq!(verified.data["a"], 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn deserialize_at(
        &self,
        name: &str,
        value: &str,
        max_age: Option<Duration>,
        now: OffsetDateTime,
    ) -> Result<VerifiedCookie, VerifyError> {
        self.verify_at(name, value, max_age, now, VerifiedCookie::from_json)
    }

    /// Verifies a value like [`deserialize_at`](Self::deserialize_at), then hands the
    /// authenticated JSON bytes, when they were signed and whether a fallback key verified them
    /// to `parse`.
    pub(crate) fn verify_at<T>(
        &self,
        name: &str,
        value: &str,
        max_age: Option<Duration>,
        now: OffsetDateTime,
        parse: impl FnOnce(&[u8], OffsetDateTime, bool) -> Result<T, VerifyError>,
    ) -> Result<T, VerifyError> {
        if value.len() > MAX_COOKIE_VALUE_LEN {
            return Err(VerifyError::TooLong { len: value.len() });
        }
        let (signed, signature_b64) = value.rsplit_once('|').ok_or(VerifyError::Malformed)?;
        let (payload_b64, timestamp) = signed.split_once('|').ok_or(VerifyError::Malformed)?;
        let timestamp = parse_timestamp(timestamp).ok_or(VerifyError::Malformed)?;
        if signature_b64.len() != SIGNATURE_B64_LEN {
            return Err(VerifyError::Malformed);
        }
        let mut tag = [0u8; SIGNATURE_LEN];
        match URL_SAFE_NO_PAD.decode_slice(signature_b64, &mut tag) {
            Ok(SIGNATURE_LEN) => {}
            _ => return Err(VerifyError::Malformed),
        }

        let signed_with_fallback = self.verifying_key_index(name, signed, &tag)? > 0;

        let signed_at = check_age(timestamp, max_age, now)?;

        // Typical payloads decode on the stack; larger ones (up to 3 KiB) on the heap.
        let mut inline = [0u8; INLINE_JSON_LEN];
        let mut heap = Vec::new();
        let needed = base64::decoded_len_estimate(payload_b64.len());
        let buffer: &mut [u8] = if needed <= INLINE_JSON_LEN {
            &mut inline
        } else {
            heap.resize(needed, 0);
            &mut heap
        };
        let json_len = URL_SAFE_NO_PAD
            .decode_slice(payload_b64, buffer)
            .map_err(|_| VerifyError::BadPayload)?;
        parse(
            buffer.get(..json_len).ok_or(VerifyError::BadPayload)?,
            signed_at,
            signed_with_fallback,
        )
    }

    /// Index of the key (0 = primary) whose signature matches `tag`.
    fn verifying_key_index(
        &self,
        name: &str,
        signed: &str,
        tag: &[u8],
    ) -> Result<usize, VerifyError> {
        self.keys
            .all()
            .position(|key| signature(key, name, signed).verify_slice(tag).is_ok())
            .ok_or(VerifyError::BadSignature)
    }
}

/// The MAC over `name|payload|timestamp`, ready to finalize or verify (constant time).
fn signature(key: &DerivedKey, name: &str, signed: &str) -> crate::key::HmacSha256 {
    let mut mac = key.mac();
    mac.update(name.as_bytes());
    mac.update(b"|");
    mac.update(signed.as_bytes());
    mac
}

/// The length of the signed value of `json_len` bytes of JSON signed at `timestamp`.
pub(crate) fn signed_len(json_len: usize, timestamp: i64) -> usize {
    let payload = base64::encoded_len(json_len, false).unwrap_or(0);
    let digits = timestamp
        .unsigned_abs()
        .checked_ilog10()
        .map_or(1, |log| log + 1) as usize;
    let sign = usize::from(timestamp < 0);
    payload + 1 + sign + digits + 1 + SIGNATURE_B64_LEN
}

/// Parses an unsigned decimal timestamp: digits only, no sign, no leading `+`, no spaces.
fn parse_timestamp(digits: &str) -> Option<i64> {
    if digits.is_empty()
        || digits.len() > MAX_TIMESTAMP_DIGITS
        || !digits.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::SIGNING_PURPOSE;
    use serde_json::json;

    fn serializer(secret: &[u8], fallbacks: &[Vec<u8>]) -> SecureCookieSerializer {
        SecureCookieSerializer::new(KeyRing::new(secret, fallbacks, SIGNING_PURPOSE))
    }

    fn at(ts: i64) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(ts).expect("valid timestamp")
    }

    /// Guards the wire format: a change here breaks every cookie users hold. The expected value
    /// was computed independently with Python's `hmac`, `hashlib` and `base64` modules (HKDF
    /// written out as RFC 5869 gives it). It changed on purpose once, when keys moved to HKDF.
    #[test]
    fn wire_format_is_stable() {
        let s = serializer(&[0x42; 32], &[]);
        let value = s
            .serialize_at("session", &json!({"a": 1, "b": "ü"}), at(1_700_000_000))
            .expect("serializable");
        assert_eq!(
            value,
            "eyJhIjoxLCJiIjoiw7wifQ|1700000000|ohDY16S38M6Q4o2lXDJK5i_pcLWwyneTmGpkKSJVc2o"
        );
        let verified = s
            .deserialize_at("session", &value, None, at(1_700_000_000))
            .expect("verifies");
        assert_eq!(
            verified.data,
            *json!({"a": 1, "b": "ü"}).as_object().expect("object")
        );
        assert_eq!(verified.signed_at, at(1_700_000_000));
        assert!(!verified.signed_with_fallback);
    }

    #[test]
    fn predicted_length_is_exact() {
        let s = serializer(&[3; 32], &[]);
        for json_len in [0usize, 1, 2, 3, 200, 383, 384, 385, 1000] {
            let json = vec![b'x'; json_len];
            for ts in [0, 9, 10, 1_700_000_000, -1, -10, i64::MIN, i64::MAX] {
                assert_eq!(
                    s.sign_json("n", &json, ts).len(),
                    signed_len(json_len, ts),
                    "{json_len} bytes at {ts}"
                );
            }
        }
    }

    #[test]
    fn payloads_on_both_sides_of_the_inline_buffer_round_trip() {
        let s = serializer(&[3; 32], &[]);
        let big = "é".repeat(INLINE_JSON_LEN);
        for text in ["", "short", &big] {
            let value = s
                .serialize_at("n", &json!({ "t": text }), at(5))
                .expect("serializable");
            let data = s
                .deserialize_at("n", &value, None, at(5))
                .expect("verifies")
                .data;
            assert_eq!(data["t"], text);
        }
    }

    #[test]
    fn timestamps_accept_only_plain_digits() {
        assert_eq!(parse_timestamp("123"), Some(123));
        for bad in ["", "+1", "-1", " 1", "1 ", "1a", "99999999999999999999"] {
            assert_eq!(parse_timestamp(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn expiry_and_future_bounds() {
        let s = serializer(&[1; 32], &[]);
        let value = s
            .serialize_at("n", &json!({}), at(1000))
            .expect("serializable");
        let max_age = Some(Duration::seconds(10));
        assert!(s.deserialize_at("n", &value, max_age, at(1010)).is_ok());
        assert_eq!(
            s.deserialize_at("n", &value, max_age, at(1011)),
            Err(VerifyError::Expired {
                expired_for: Duration::seconds(1)
            })
        );
        assert!(s.deserialize_at("n", &value, None, at(1000 - 60)).is_ok());
        assert_eq!(
            s.deserialize_at("n", &value, None, at(1000 - 61)),
            Err(VerifyError::FromTheFuture {
                ahead: Duration::seconds(61)
            })
        );
    }

    #[test]
    fn fallback_keys_verify_and_are_flagged() {
        let old = serializer(&[1; 32], &[]);
        let rotated = serializer(&[2; 32], &[vec![1; 32]]);
        let value = old
            .serialize_at("n", &json!({"k": 1}), at(5))
            .expect("serializable");
        let verified = rotated
            .deserialize_at("n", &value, None, at(5))
            .expect("fallback verifies");
        assert!(verified.signed_with_fallback);
        assert_eq!(
            serializer(&[2; 32], &[]).deserialize_at("n", &value, None, at(5)),
            Err(VerifyError::BadSignature)
        );
    }

    #[test]
    fn payload_must_be_an_object() {
        let s = serializer(&[1; 32], &[]);
        let value = s
            .serialize_at("n", &json!([1, 2]), at(5))
            .expect("serializable");
        assert_eq!(
            s.deserialize_at("n", &value, None, at(5)),
            Err(VerifyError::NotAnObject)
        );
        let not_json = s.sign_json("n", b"{nope", 5);
        assert_eq!(
            s.deserialize_at("n", &not_json, None, at(5)),
            Err(VerifyError::BadPayload)
        );
    }
}
