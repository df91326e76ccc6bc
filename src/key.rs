//! Keys derived from the configured secrets, once, when the config is built.

use std::fmt;

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

/// HMAC-SHA256, the MAC of signed cookies.
pub(crate) type HmacSha256 = Hmac<Sha256>;

/// The fewest bytes a secret may have.
pub(crate) const MIN_SECRET_LEN: usize = 32;

/// The SHA-256 block size: HMAC keys are padded to it.
const HMAC_BLOCK_LEN: usize = 64;

/// Purpose label of the key that signs cookies; other purposes get other labels,
/// so a key is never used for two things.
pub(crate) const SIGNING_PURPOSE: &str = "axum-session-store/securecookie/v1";

/// Purpose label of the key that encrypts private cookies.
pub(crate) const SEALING_PURPOSE: &str = "axum-session-store/privatecookie/v1";

/// A 32-byte key for one purpose, derived from a secret: `HMAC-SHA256(secret, purpose)`.
pub(crate) fn derive_bytes(secret: &[u8], purpose: &str) -> [u8; 32] {
    let mut mac = keyed_hmac(secret);
    mac.update(purpose.as_bytes());
    mac.finalize().into_bytes().into()
}

/// An HMAC-SHA256 instance keyed with `key`, for keys of any length.
///
/// This is HMAC's own key preparation (RFC 2104 section 2: a key longer than a block is hashed,
/// a shorter one is padded with zeros), done here so that keying cannot fail.
pub(crate) fn keyed_hmac(key: &[u8]) -> HmacSha256 {
    let mut block = [0u8; HMAC_BLOCK_LEN];
    if key.len() > HMAC_BLOCK_LEN {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    HmacSha256::new(&block.into())
}

/// A ready-keyed MAC for one purpose, derived from a secret: `HMAC(secret, purpose)`.
///
/// The keyed state is kept, so signing a cookie clones it instead of keying HMAC again.
/// `Debug` never prints key material.
#[derive(Clone)]
pub(crate) struct DerivedKey {
    mac: HmacSha256,
}

impl DerivedKey {
    pub(crate) fn derive(secret: &[u8], purpose: &str) -> Self {
        Self {
            mac: keyed_hmac(&derive_bytes(secret, purpose)),
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

    #[test]
    fn keyed_hmac_matches_hmac_of_any_key_length() {
        for len in [0, 1, 32, 63, 64, 65, 200] {
            let key = vec![0xa5; len];
            let mut ours = keyed_hmac(&key);
            let mut reference =
                HmacSha256::new_from_slice(&key).expect("hmac takes any key length");
            ours.update(b"message");
            reference.update(b"message");
            assert_eq!(
                ours.finalize().into_bytes(),
                reference.finalize().into_bytes(),
                "key length {len}"
            );
        }
    }

    #[test]
    fn derived_keys_differ_by_purpose_and_secret() {
        let tag = |key: &DerivedKey| key.mac().chain_update(b"x").finalize().into_bytes();
        let a = DerivedKey::derive(&[1; 32], "a");
        assert_eq!(tag(&a), tag(&DerivedKey::derive(&[1; 32], "a")));
        assert_ne!(tag(&a), tag(&DerivedKey::derive(&[1; 32], "b")));
        assert_ne!(tag(&a), tag(&DerivedKey::derive(&[2; 32], "a")));
    }

    #[test]
    fn debug_prints_no_key_material() {
        let ring = KeyRing::new(&[7; 32], &[vec![8; 32]], SIGNING_PURPOSE);
        assert_eq!(format!("{ring:?}"), "KeyRing { fallbacks: 1, .. }");
    }
}
