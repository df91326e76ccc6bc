//! Keys derived from the configured secrets, once, when the config is built.
//!
//! Every key is HKDF-SHA256 (RFC 5869) of a secret, with a purpose label as HKDF's `info`, so
//! the keys of two purposes are unrelated and a key is never used for two things.

use std::fmt;

use hkdf::Hkdf;
use hmac::digest::KeyInit;
use hmac::Hmac;
use sha2::Sha256;

/// HMAC-SHA256, the MAC of signed cookies.
pub(crate) type HmacSha256 = Hmac<Sha256>;

/// The fewest bytes a secret may have.
pub(crate) const MIN_SECRET_LEN: usize = 32;

/// The fewest distinct bytes a secret may have. Random secrets have far more (32 random bytes
/// hold about 30; a hex string 16); a secret repeated from a word or a few characters has
/// fewer. Django's deploy check asks for 5 distinct characters; 8 still admits every encoding
/// of random bytes, and refuses a repeated eight-letter word.
pub(crate) const MIN_DISTINCT_SECRET_BYTES: usize = 8;

/// How many distinct byte values `secret` holds.
pub(crate) fn distinct_bytes(secret: &[u8]) -> usize {
    let mut seen = [false; 256];
    for &byte in secret {
        seen[usize::from(byte)] = true;
    }
    seen.iter().filter(|&&seen| seen).count()
}

/// The SHA-256 block size: an HMAC key of exactly this length is used as it is.
const HMAC_KEY_LEN: usize = 64;

/// Purpose label of the key that signs cookie sessions.
pub(crate) const SIGNING_PURPOSE: &str = "axum-session-store/securecookie/v2";

/// Purpose label of the key that signs the id cookies of server-side sessions: apart from
/// [`SIGNING_PURPOSE`], so an id cookie and a cookie session can never be read as each other.
pub(crate) const ID_COOKIE_PURPOSE: &str = "axum-session-store/session-id/v1";

/// Purpose label of the key that encrypts private cookies.
pub(crate) const SEALING_PURPOSE: &str = "axum-session-store/privatecookie/v2";

/// Purpose label of the key that wraps each sealed server-side record's own key.
pub(crate) const RECORD_KEY_PURPOSE: &str = "axum-session-store/record-key/v1";

/// Purpose label of the key that seals a sealed record's metadata (what devices pages list).
pub(crate) const RECORD_METADATA_PURPOSE: &str = "axum-session-store/record-metadata/v1";

/// Purpose label of the key that turns a user id into what a sealed record's user index holds.
pub(crate) const RECORD_USER_PURPOSE: &str = "axum-session-store/record-user/v1";

/// `N` bytes of key for one purpose: HKDF-SHA256 with no salt, the secret as input key
/// material and the purpose as `info`.
pub(crate) fn derive_bytes<const N: usize>(secret: &[u8], purpose: &str) -> [u8; N] {
    // HKDF-SHA256 gives at most 255 blocks of 32 bytes; every key here is far shorter, so
    // `expand` cannot fail.
    const { assert!(N <= 255 * 32, "HKDF-SHA256 cannot give that many bytes") };
    let mut key = [0u8; N];
    match Hkdf::<Sha256>::new(None, secret).expand(purpose.as_bytes(), &mut key) {
        Ok(()) => key,
        Err(_) => unreachable!("the length is checked at compile time"),
    }
}

/// A ready-keyed MAC for one purpose, derived from a secret.
///
/// The keyed state is kept, so signing a cookie clones it instead of keying HMAC again.
/// `Debug` never prints key material.
#[derive(Clone)]
pub(crate) struct DerivedKey {
    mac: HmacSha256,
}

impl DerivedKey {
    pub(crate) fn derive(secret: &[u8], purpose: &str) -> Self {
        // A key of exactly one block is HMAC's own key, neither hashed nor padded.
        let key = derive_bytes::<HMAC_KEY_LEN>(secret, purpose);
        Self {
            mac: HmacSha256::new(&key.into()),
        }
    }

    /// A fresh MAC computation under this key.
    pub(crate) fn mac(&self) -> HmacSha256 {
        self.mac.clone()
    }
}

impl fmt::Debug for DerivedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DerivedKey(..)")
    }
}

/// The primary key, which signs, and the fallback keys, which only verify.
#[derive(Clone)]
pub(crate) struct KeyRing {
    primary: DerivedKey,
    fallbacks: Vec<DerivedKey>,
}

impl KeyRing {
    pub(crate) fn new(primary: &[u8], fallbacks: &[Vec<u8>], purpose: &str) -> Self {
        Self {
            primary: DerivedKey::derive(primary, purpose),
            fallbacks: fallbacks
                .iter()
                .map(|secret| DerivedKey::derive(secret, purpose))
                .collect(),
        }
    }

    pub(crate) fn primary(&self) -> &DerivedKey {
        &self.primary
    }

    /// The primary key first, then the fallbacks in the order they were configured.
    pub(crate) fn all(&self) -> impl Iterator<Item = &DerivedKey> {
        std::iter::once(&self.primary).chain(&self.fallbacks)
    }
}

impl fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyRing")
            .field("fallbacks", &self.fallbacks.len())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hmac::Mac;

    /// RFC 5869's test case 3 (SHA-256, no salt, no info): the derivation is HKDF itself.
    #[test]
    fn derivation_is_rfc_5869_hkdf_sha256() {
        let okm = derive_bytes::<42>(&[0x0b; 22], "");
        let expected = "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d\
                        9d201395faa4b61a96c8";
        let hex: String = okm.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex, expected);
    }

    #[test]
    fn derived_keys_differ_by_purpose_and_secret() {
        let tag = |key: &DerivedKey| key.mac().chain_update(b"x").finalize().into_bytes();
        let a = DerivedKey::derive(&[1; 32], "a");
        assert_eq!(tag(&a), tag(&DerivedKey::derive(&[1; 32], "a")));
        assert_ne!(tag(&a), tag(&DerivedKey::derive(&[1; 32], "b")));
        assert_ne!(tag(&a), tag(&DerivedKey::derive(&[2; 32], "a")));
        assert_ne!(
            tag(&DerivedKey::derive(&[1; 32], SIGNING_PURPOSE)),
            tag(&DerivedKey::derive(&[1; 32], ID_COOKIE_PURPOSE))
        );
    }

    #[test]
    fn debug_prints_no_key_material() {
        let ring = KeyRing::new(&[7; 32], &[vec![8; 32]], SIGNING_PURPOSE);
        assert_eq!(format!("{ring:?}"), "KeyRing { fallbacks: 1, .. }");
    }
}
