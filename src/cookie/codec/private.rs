//! The sealed (encrypted) cookie format: XChaCha20-Poly1305 with a fresh random nonce per
//! cookie, the cookie name as associated data, and the timestamp inside the sealed payload.
//!
//! `value = base64url(nonce[24] || ciphertext(timestamp_be[8] || json) || tag[16])`

use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
#[cfg(any(test, feature = "test-util"))]
use serde::Serialize;
#[cfg(any(test, feature = "test-util"))]
use serde_json::{Map, Value};
use time::{Duration, OffsetDateTime};

#[cfg(any(test, feature = "test-util"))]
use super::json::to_json;
use super::verified::{check_age, VerifiedCookie, VerifyError, MAX_COOKIE_VALUE_LEN};
use crate::aead::{AeadRing, NONCE_LEN, TAG_LEN};
use crate::key::SEALING_PURPOSE;

const TIMESTAMP_LEN: usize = 8;

/// Encrypts and authenticates cookie values: the client can neither read nor change them.
///
/// Each value is sealed with XChaCha20-Poly1305 under a key derived from the secret for this
/// purpose only, with a fresh random 192-bit nonce (so two seals of the same data differ) and
/// the cookie name as associated data (so a value moved to another cookie does not open). The
/// timestamp is inside the sealed payload. Fallback keys open old values, as for signed cookies.
///
/// ```
/// use axum_session_store::SessionConfig;
/// use serde_json::json;
///
/// # let secret = "an example secret, at least 32 bytes long";
/// let config = SessionConfig::builder().secret_key(secret).build()?;
/// let sealer = config.private_serializer();
///
/// let a = sealer.serialize("session", &json!({ "user": "ada" }))?;
/// let b = sealer.serialize("session", &json!({ "user": "ada" }))?;
/// assert_ne!(a, b);
/// assert!(!a.contains("ada"));
/// assert_eq!(sealer.deserialize("session", &a, None)?["user"], "ada");
/// assert!(sealer.deserialize("other", &a, None).is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct PrivateCookieSerializer {
    keys: AeadRing,
}

/// The length of the sealed value of `json_len` bytes of JSON.
pub(crate) fn sealed_len(json_len: usize) -> usize {
    base64::encoded_len(NONCE_LEN + TIMESTAMP_LEN + json_len + TAG_LEN, false).unwrap_or(0)
}

impl PrivateCookieSerializer {
    pub(crate) fn new(primary: &[u8], fallbacks: &[Vec<u8>]) -> Self {
        Self {
            keys: AeadRing::derive(primary, fallbacks, SEALING_PURPOSE),
        }
    }

    #[cfg(any(test, feature = "test-util"))]
    /// Seals `value` for the cookie `name`, timestamped now.
    ///
    /// # Errors
    /// An I/O error when `value` is not serializable or no nonce could be drawn.
    ///
    /// ```
    /// use axum_session_store::SessionConfig;
    ///
    /// # let secret = "an example secret, at least 32 bytes long";
    /// let config = SessionConfig::builder().secret_key(secret).build()?;
    /// let sealer = config.private_serializer();
    /// let sealed = sealer.serialize("vault", &serde_json::json!({"card": "4242"}))?;
    /// assert!(!sealed.contains("4242"), "encrypted, not only signed");
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
    /// Seals `value` for the cookie `name` with the given timestamp (for tests and tools).
    ///
    /// # Errors
    /// An I/O error when `value` is not serializable or no nonce could be drawn.
    ///
    /// ```
    /// use axum_session_store::SessionConfig;
    ///
    /// # let secret = "an example secret, at least 32 bytes long";
    /// let config = SessionConfig::builder().secret_key(secret).build()?;
    /// let sealer = config.private_serializer();
    /// let now = time::OffsetDateTime::now_utc();
    /// let sealed = sealer.serialize_at("vault", &serde_json::json!({"a": 1}), now)?;
    /// assert_eq!(sealer.deserialize_at("vault", &sealed, None, now)?.data["a"], 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn serialize_at<T: Serialize + ?Sized>(
        &self,
        name: &str,
        value: &T,
        sealed_at: OffsetDateTime,
    ) -> Result<String, std::io::Error> {
        let json = to_json(value)?;
        let mut out = String::with_capacity(sealed_len(json.len()));
        self.write_sealed(name, &json, sealed_at, &mut out)?;
        Ok(out)
    }

    /// Appends the sealed value of `json` to `out`.
    pub(crate) fn write_sealed(
        &self,
        name: &str,
        json: &[u8],
        sealed_at: OffsetDateTime,
        out: &mut String,
    ) -> Result<(), std::io::Error> {
        let timestamp = sealed_at.unix_timestamp().to_be_bytes();
        let sealed = self.keys.seal(name.as_bytes(), &[&timestamp, json])?;
        URL_SAFE_NO_PAD.encode_string(sealed, out);
        Ok(())
    }

    #[cfg(any(test, feature = "test-util"))]
    /// Opens a value of the cookie `name` and returns its data.
    ///
    /// # Errors
    /// A [`VerifyError`] saying why the value is not accepted.
    ///
    /// ```
    /// use axum_session_store::SessionConfig;
    ///
    /// # let secret = "an example secret, at least 32 bytes long";
    /// let config = SessionConfig::builder().secret_key(secret).build()?;
    /// let sealer = config.private_serializer();
    /// let sealed = sealer.serialize("vault", &serde_json::json!({"a": 1}))?;
    /// assert_eq!(sealer.deserialize("vault", &sealed, None)?["a"], 1);
    /// assert!(sealer.deserialize("vault", "tampered", None).is_err());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn deserialize(
        &self,
        name: &str,
        value: &str,
        max_age: Option<Duration>,
    ) -> Result<Map<String, Value>, VerifyError> {
        self.deserialize_at(name, value, max_age, OffsetDateTime::now_utc())
            .map(|opened| opened.data)
    }

    /// Opens a value of the cookie `name` as of the instant `now`: authenticated decryption
    /// (primary key, then each fallback) before anything is parsed.
    ///
    /// # Errors
    /// A [`VerifyError`] saying why the value is not accepted.
    ///
    /// ```
    /// use axum_session_store::SessionConfig;
    ///
    /// # let secret = "an example secret, at least 32 bytes long";
    /// let config = SessionConfig::builder().secret_key(secret).build()?;
    /// let sealer = config.private_serializer();
    /// let now = time::OffsetDateTime::now_utc();
    /// let sealed = sealer.serialize_at("vault", &serde_json::json!({}), now - time::Duration::days(2))?;
    /// assert!(sealer.deserialize_at("vault", &sealed, Some(time::Duration::days(1)), now).is_err(), "too old");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn deserialize_at(
        &self,
        name: &str,
        value: &str,
        max_age: Option<Duration>,
        now: OffsetDateTime,
    ) -> Result<VerifiedCookie, VerifyError> {
        if value.len() > MAX_COOKIE_VALUE_LEN {
            return Err(VerifyError::TooLong { len: value.len() });
        }
        let bytes = URL_SAFE_NO_PAD
            .decode(value)
            .map_err(|_| VerifyError::Malformed)?;
        if bytes.len() < NONCE_LEN + TIMESTAMP_LEN + TAG_LEN {
            return Err(VerifyError::Malformed);
        }
        let (plaintext, with_fallback) = self
            .keys
            .open(name.as_bytes(), &bytes)
            .ok_or(VerifyError::BadSignature)?;
        let (timestamp, json) = plaintext.split_at(TIMESTAMP_LEN);
        let timestamp =
            i64::from_be_bytes(timestamp.try_into().map_err(|_| VerifyError::Malformed)?);
        let signed_at = check_age(timestamp, max_age, now)?;
        VerifiedCookie::from_json(json, signed_at, with_fallback)
    }
}

impl fmt::Debug for PrivateCookieSerializer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PrivateCookieSerializer")
            .field("fallbacks", &self.keys.fallbacks())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::derive_bytes;
    use serde_json::json;

    fn at(ts: i64) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(ts).unwrap()
    }

    #[test]
    fn seals_differ_and_hide_the_plaintext() {
        let s = PrivateCookieSerializer::new(&[1; 32], &[]);
        let a = s
            .serialize_at("n", &json!({"secret": "hunter2"}), at(5))
            .unwrap();
        let b = s
            .serialize_at("n", &json!({"secret": "hunter2"}), at(5))
            .unwrap();
        assert_ne!(a, b);
        for value in [&a, &b] {
            let raw = URL_SAFE_NO_PAD.decode(value).unwrap();
            assert!(!raw.windows(7).any(|w| w == b"hunter2"));
            assert_eq!(
                s.deserialize_at("n", value, None, at(5)).unwrap().data["secret"],
                "hunter2"
            );
        }
    }

    #[test]
    fn predicted_length_is_exact() {
        let s = PrivateCookieSerializer::new(&[1; 32], &[]);
        for text in ["", "a", "ab", &"x".repeat(500)] {
            let value = s.serialize_at("n", &json!({ "t": text }), at(5)).unwrap();
            let json_len = serde_json::to_vec(&json!({ "t": text })).unwrap().len();
            assert_eq!(value.len(), sealed_len(json_len), "{text:?}");
        }
    }

    #[test]
    fn every_bit_flip_is_rejected() {
        let s = PrivateCookieSerializer::new(&[1; 32], &[]);
        let value = s.serialize_at("n", &json!({"a": 1}), at(5)).unwrap();
        let raw = URL_SAFE_NO_PAD.decode(&value).unwrap();
        for i in 0..raw.len() {
            for bit in 0..8 {
                let mut changed = raw.clone();
                changed[i] ^= 1 << bit;
                let changed = URL_SAFE_NO_PAD.encode(changed);
                assert_eq!(
                    s.deserialize_at("n", &changed, None, at(5)),
                    Err(VerifyError::BadSignature)
                );
            }
        }
    }

    #[test]
    fn keys_are_not_shared_with_signing_and_rotate() {
        let old = PrivateCookieSerializer::new(&[1; 32], &[]);
        let rotated = PrivateCookieSerializer::new(&[2; 32], &[vec![1; 32]]);
        let value = old.serialize_at("n", &json!({}), at(5)).unwrap();
        assert!(
            rotated
                .deserialize_at("n", &value, None, at(5))
                .unwrap()
                .signed_with_fallback
        );
        let without = PrivateCookieSerializer::new(&[2; 32], &[]);
        assert_eq!(
            without.deserialize_at("n", &value, None, at(5)),
            Err(VerifyError::BadSignature)
        );
        assert_ne!(
            derive_bytes::<32>(&[1; 32], SEALING_PURPOSE),
            derive_bytes::<32>(&[1; 32], crate::key::SIGNING_PURPOSE)
        );
    }

    #[test]
    fn expiry_is_checked_inside_the_seal() {
        let s = PrivateCookieSerializer::new(&[1; 32], &[]);
        let value = s.serialize_at("n", &json!({}), at(1000)).unwrap();
        assert!(s
            .deserialize_at("n", &value, Some(Duration::seconds(10)), at(1010))
            .is_ok());
        assert!(matches!(
            s.deserialize_at("n", &value, Some(Duration::seconds(10)), at(1011)),
            Err(VerifyError::Expired { .. })
        ));
        assert!(matches!(
            s.deserialize_at("n", &value, None, at(900)),
            Err(VerifyError::FromTheFuture { .. })
        ));
    }
}
