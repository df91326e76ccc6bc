//! [`AeadRing`]: XChaCha20-Poly1305 under a primary key, which seals, and fallback keys, which
//! only open. What private cookies and sealed server-side records are both made of:
//! `nonce[24] || ciphertext || tag[16]`, with a fresh random 192-bit nonce every time.

use chacha20poly1305::aead::AeadInPlace;
use chacha20poly1305::{Key, KeyInit, Tag, XChaCha20Poly1305, XNonce};

use crate::key::derive_bytes;

/// The nonce's length, before the ciphertext.
pub(crate) const NONCE_LEN: usize = 24;

/// The tag's length, after the ciphertext.
pub(crate) const TAG_LEN: usize = 16;

/// A primary key and the fallback keys of one purpose.
#[derive(Clone)]
pub(crate) struct AeadRing {
    primary: XChaCha20Poly1305,
    fallbacks: Vec<XChaCha20Poly1305>,
}

impl AeadRing {
    /// The keys of `purpose` derived from `secret`, opening with `fallbacks` too.
    pub(crate) fn derive(secret: &[u8], fallbacks: &[Vec<u8>], purpose: &str) -> Self {
        let cipher =
            |secret: &[u8]| XChaCha20Poly1305::new(&Key::from(derive_bytes::<32>(secret, purpose)));
        Self {
            primary: cipher(secret),
            fallbacks: fallbacks.iter().map(|secret| cipher(secret)).collect(),
        }
    }

    /// The one key `key`.
    pub(crate) fn one(key: &[u8; 32]) -> Self {
        Self {
            primary: XChaCha20Poly1305::new(&Key::from(*key)),
            fallbacks: Vec::new(),
        }
    }

    /// How many fallback keys it has.
    pub(crate) fn fallbacks(&self) -> usize {
        self.fallbacks.len()
    }

    /// `parts`, one after the other, sealed under the primary key and bound to `aad`: the
    /// bytes `nonce || ciphertext || tag`.
    ///
    /// # Errors
    /// No nonce could be drawn, or the plaintext is too long for the cipher.
    pub(crate) fn seal(&self, aad: &[u8], parts: &[&[u8]]) -> Result<Vec<u8>, std::io::Error> {
        let mut nonce = [0u8; NONCE_LEN];
        crate::id::fill_random(&mut nonce)?;
        let len = parts.iter().map(|part| part.len()).sum::<usize>();
        let mut buffer = Vec::with_capacity(NONCE_LEN + len + TAG_LEN);
        buffer.extend_from_slice(&nonce);
        for part in parts {
            buffer.extend_from_slice(part);
        }
        let tag = self
            .primary
            .encrypt_in_place_detached(&XNonce::from(nonce), aad, &mut buffer[NONCE_LEN..])
            .map_err(|_| {
                std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    "the value is too long to encrypt",
                )
            })?;
        buffer.extend_from_slice(&tag);
        Ok(buffer)
    }

    /// What the bytes `sealed` hold, if one of the keys opens them with `aad`, and whether
    /// that key is a fallback. Authenticated before anything is decrypted.
    pub(crate) fn open(&self, aad: &[u8], sealed: &[u8]) -> Option<(Vec<u8>, bool)> {
        if sealed.len() < NONCE_LEN + TAG_LEN {
            return None;
        }
        let (nonce, rest) = sealed.split_at(NONCE_LEN);
        let (ciphertext, tag) = rest.split_at(rest.len() - TAG_LEN);
        let (nonce, tag) = (XNonce::from_slice(nonce), Tag::from_slice(tag));
        // The cipher decrypts only once the tag verified: a key that fails leaves the buffer
        // as it was, for the next key to try.
        let mut plaintext = ciphertext.to_vec();
        let index = std::iter::once(&self.primary)
            .chain(&self.fallbacks)
            .position(|key| {
                key.decrypt_in_place_detached(nonce, aad, &mut plaintext, tag)
                    .is_ok()
            })?;
        Some((plaintext, index > 0))
    }
}
