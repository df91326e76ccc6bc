//! The keys that seal server-side records, derived from the config's secrets at `build()`, and
//! the slot a sealed [`Storage`](crate::backend::Storage) waits for them in.

use std::fmt;
use std::sync::OnceLock;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::Mac;

use crate::aead::AeadRing;
use crate::backend::error::BackendError;
use crate::key::{KeyRing, RECORD_KEY_PURPOSE, RECORD_METADATA_PURPOSE, RECORD_USER_PURPOSE};

/// `plaintext` sealed under `ring`'s primary key, bound to `aad`, as base64url text.
pub(super) fn seal_text(
    ring: &AeadRing,
    aad: &[u8],
    plaintext: &[u8],
) -> Result<String, BackendError> {
    let sealed = ring
        .seal(aad, &[plaintext])
        .map_err(|error| BackendError::new("could not seal a session record", error))?;
    Ok(URL_SAFE_NO_PAD.encode(sealed))
}

/// What the base64url text `sealed` holds, if one of `ring`'s keys opens it with `aad`, and
/// whether that key is a fallback.
pub(super) fn open_text(ring: &AeadRing, aad: &[u8], sealed: &str) -> Option<(Vec<u8>, bool)> {
    ring.open(aad, &URL_SAFE_NO_PAD.decode(sealed).ok()?)
}

/// The keys of sealed records, for one config: each record's own key is wrapped under `wrap`,
/// its metadata sealed under `metadata`, and its user id, which the user index finds records
/// by, replaced by its MAC under `users`.
pub(crate) struct RecordKeys {
    pub(super) wrap: AeadRing,
    pub(super) metadata: AeadRing,
    pub(super) users: KeyRing,
}

impl RecordKeys {
    /// The keys derived from `secret`, opening with `fallbacks` too.
    pub(crate) fn derive(secret: &[u8], fallbacks: &[Vec<u8>]) -> Self {
        Self {
            wrap: AeadRing::derive(secret, fallbacks, RECORD_KEY_PURPOSE),
            metadata: AeadRing::derive(secret, fallbacks, RECORD_METADATA_PURPOSE),
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
