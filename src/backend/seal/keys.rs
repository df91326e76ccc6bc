//! The keys that seal server-side records, derived from the config's secrets at `build()`, and
//! the slot a sealed [`Storage`](crate::backend::Storage) waits for them in.

use std::fmt;
use std::sync::OnceLock;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chacha20poly1305::aead::AeadInPlace;
use chacha20poly1305::{Key, KeyInit, Tag, XChaCha20Poly1305, XNonce};
use hmac::Mac;

use crate::backend::error::BackendError;
use crate::key::{
    derive_bytes, KeyRing, RECORD_KEY_PURPOSE, RECORD_METADATA_PURPOSE, RECORD_USER_PURPOSE,
};

const NONCE_LEN: usize = 24;
const TAG_LEN: usize = 16;

/// XChaCha20-Poly1305 under a primary key, which seals, and fallback keys, which only open.
#[derive(Clone)]
pub(super) struct Aead {
    /// The primary key first.
    ring: Vec<XChaCha20Poly1305>,
}

impl Aead {
    /// One key: a record's own.
    pub(super) fn one(key: &[u8; 32]) -> Self {
        Self {
            ring: vec![XChaCha20Poly1305::new(&Key::from(*key))],
        }
    }

    fn derive(secret: &[u8], fallbacks: &[Vec<u8>], purpose: &str) -> Self {
        let cipher =
            |secret: &[u8]| XChaCha20Poly1305::new(&Key::from(derive_bytes::<32>(secret, purpose)));
        Self {
            ring: std::iter::once(secret)
                .chain(fallbacks.iter().map(Vec::as_slice))
                .map(cipher)
                .collect(),
        }
    }

    /// `plaintext` sealed under the primary key with a fresh random nonce, bound to `aad`:
    /// `base64url(nonce[24] || ciphertext || tag[16])`.
    pub(super) fn seal(&self, aad: &[u8], plaintext: &[u8]) -> Result<String, BackendError> {
        let failed =
            |what: &str| BackendError::msg(format!("could not seal a session record: {what}"));
        let mut nonce = [0u8; NONCE_LEN];
        crate::id::fill_random(&mut nonce).map_err(|error| {
            BackendError::new("could not draw a nonce to seal a session record", error)
        })?;
        let mut buffer = Vec::with_capacity(NONCE_LEN + plaintext.len() + TAG_LEN);
        buffer.extend_from_slice(&nonce);
        buffer.extend_from_slice(plaintext);
        let primary = self.ring.first().ok_or_else(|| failed("no key"))?;
        let tag = primary
            .encrypt_in_place_detached(&XNonce::from(nonce), aad, &mut buffer[NONCE_LEN..])
            .map_err(|_| failed("the value is too long"))?;
        buffer.extend_from_slice(&tag);
        Ok(URL_SAFE_NO_PAD.encode(buffer))
    }

    /// What `sealed` holds, if one of the keys opens it with `aad`, and whether that key is a
    /// fallback.
    pub(super) fn open(&self, aad: &[u8], sealed: &str) -> Option<(Vec<u8>, bool)> {
        let bytes = URL_SAFE_NO_PAD.decode(sealed).ok()?;
        if bytes.len() < NONCE_LEN + TAG_LEN {
            return None;
        }
        let (nonce, rest) = bytes.split_at(NONCE_LEN);
        let (ciphertext, tag) = rest.split_at(rest.len() - TAG_LEN);
        let (nonce, tag) = (XNonce::from_slice(nonce), Tag::from_slice(tag));
        // A key that fails leaves the buffer as it was (the tag is checked first).
        let mut plaintext = ciphertext.to_vec();
        let index = self.ring.iter().position(|key| {
            key.decrypt_in_place_detached(nonce, aad, &mut plaintext, tag)
                .is_ok()
        })?;
        Some((plaintext, index > 0))
    }
}

/// The keys of sealed records, for one config: each record's own key is wrapped under `wrap`,
/// its metadata sealed under `metadata`, and its user id, which the user index finds records
/// by, replaced by its MAC under `users`.
pub(crate) struct RecordKeys {
    pub(super) wrap: Aead,
    pub(super) metadata: Aead,
    pub(super) users: KeyRing,
}

impl RecordKeys {
    /// The keys derived from `secret`, opening with `fallbacks` too.
    pub(crate) fn derive(secret: &[u8], fallbacks: &[Vec<u8>]) -> Self {
        Self {
            wrap: Aead::derive(secret, fallbacks, RECORD_KEY_PURPOSE),
            metadata: Aead::derive(secret, fallbacks, RECORD_METADATA_PURPOSE),
            users: KeyRing::new(secret, fallbacks, RECORD_USER_PURPOSE),
        }
    }

    /// What a sealed record holds in place of `user_id`, under the primary key.
    pub(super) fn user_digest(&self, user_id: &str) -> String {
        digest(self.users.primary(), user_id)
    }

    /// What a sealed record may hold in place of `user_id`: under the primary key, then each
    /// fallback.
    pub(super) fn user_digests(&self, user_id: &str) -> Vec<String> {
        self.users.all().map(|key| digest(key, user_id)).collect()
    }

    /// Tells these keys from those of other secrets.
    fn fingerprint(&self) -> Vec<String> {
        self.user_digests("axum-session-store/record-keys/fingerprint")
    }
}

fn digest(key: &crate::key::DerivedKey, user_id: &str) -> String {
    URL_SAFE_NO_PAD.encode(
        key.mac()
            .chain_update(user_id.as_bytes())
            .finalize()
            .into_bytes(),
    )
}

impl fmt::Debug for RecordKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RecordKeys(..)")
    }
}

/// Where a sealed storage finds its keys: filled by the config it is given to, at `build()`.
#[derive(Default)]
pub(crate) struct KeySlot(OnceLock<(Vec<String>, std::sync::Arc<RecordKeys>)>);

impl KeySlot {
    /// Gives the slot `keys`. `false` when it holds other keys already: the storage was given
    /// to a config with other secrets (the same keys again are fine: a config built twice).
    pub(crate) fn fill(&self, keys: &std::sync::Arc<RecordKeys>) -> bool {
        let fingerprint = keys.fingerprint();
        let (held, _) = self.0.get_or_init(|| (fingerprint.clone(), keys.clone()));
        *held == fingerprint
    }

    /// The keys, once a config has given them.
    pub(super) fn keys(&self) -> Result<&RecordKeys, BackendError> {
        self.0.get().map(|(_, keys)| &**keys).ok_or_else(|| {
            BackendError::msg(
                "a sealed storage was used before a config was built with it: give it to \
                 SessionConfigBuilder::default_backend or session_backend, then build()",
            )
        })
    }
}

impl fmt::Debug for KeySlot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.get().is_some() {
            "KeySlot(filled)"
        } else {
            "KeySlot(empty)"
        })
    }
}
