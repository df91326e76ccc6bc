//! [`Keeper`]: where one session's data is kept, with what reads and writes it there.

use std::fmt;
use std::sync::Arc;

use crate::backend::erased::{DynBackend, DynUserIndex};
use crate::backend::seal::RecordKeys;
use crate::backend::StorageKind;
use crate::cookie::codec::{CookieCodec, PrivateCookieSerializer, SecureCookieSerializer};
use crate::key::{KeyRing, ID_COOKIE_PURPOSE, SIGNING_PURPOSE};

/// A session's [`Storage`](crate::backend::Storage), ready to use: a cookie codec, or a
/// server-side backend with the signer of its id cookies. Cloning shares them.
#[derive(Clone)]
pub(crate) enum Keeper {
    /// The data is the cookie's own payload, signed or sealed by this codec.
    Cookie(Arc<dyn CookieCodec>),
    /// The data is in `backend`; the cookie holds its id, signed by `ids`.
    Server {
        backend: Arc<dyn DynBackend>,
        /// The backend's index of sessions by user, when it keeps one.
        index: Option<Arc<dyn DynUserIndex>>,
        ids: Arc<SecureCookieSerializer>,
    },
}

/// The codecs a config's keepers share, derived from its secrets once.
pub(crate) struct Codecs {
    pub(crate) signed: Arc<SecureCookieSerializer>,
    pub(crate) ids: Arc<SecureCookieSerializer>,
    pub(crate) private: Arc<PrivateCookieSerializer>,
    /// The keys of the server-side records sealed at rest.
    pub(crate) records: Arc<RecordKeys>,
}

impl Codecs {
    /// The codecs keyed with `secret`, verifying with `fallbacks` too.
    pub(crate) fn derive(secret: &[u8], fallbacks: &[Vec<u8>]) -> Self {
        Self {
            signed: Arc::new(SecureCookieSerializer::new(KeyRing::new(
                secret,
                fallbacks,
                SIGNING_PURPOSE,
            ))),
            ids: Arc::new(SecureCookieSerializer::new(KeyRing::new(
                secret,
                fallbacks,
                ID_COOKIE_PURPOSE,
            ))),
            private: Arc::new(PrivateCookieSerializer::new(secret, fallbacks)),
            records: Arc::new(RecordKeys::derive(secret, fallbacks)),
        }
    }
}

impl Keeper {
    /// The keeper of `storage`, with `codecs`.
    pub(crate) fn new(storage: &StorageKind, codecs: &Codecs) -> Self {
        match storage {
            StorageKind::SignedCookie => Keeper::Cookie(codecs.signed.clone()),
            StorageKind::PrivateCookie => Keeper::Cookie(codecs.private.clone()),
            StorageKind::Server { backend, index, .. } => Keeper::Server {
                backend: backend.clone(),
                index: index.clone(),
                ids: codecs.ids.clone(),
            },
        }
    }
}

impl fmt::Debug for Keeper {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Keeper::Cookie(_) => f.write_str("Keeper::Cookie(..)"),
            Keeper::Server { backend, .. } => f
                .debug_struct("Keeper::Server")
                .field("backend", backend)
                .finish_non_exhaustive(),
        }
    }
}
