//! [`Keeper`]: where one session's data is kept, with what reads and writes it there.

use std::fmt;
use std::sync::Arc;

use crate::backend::SessionBackend;
use crate::codec::{CookieCodec, SecureCookieSerializer};

/// A registered backend, ready to use: a cookie codec, or a server-side backend with the signer
/// of its id cookies. Cloning shares them.
#[derive(Clone)]
pub(crate) enum Keeper {
    /// The data is the cookie's own payload, signed or sealed by this codec.
    Cookie(Arc<dyn CookieCodec>),
    /// The data is in `backend`; the cookie holds its id, signed by `ids`.
    Server {
        backend: Arc<dyn SessionBackend>,
        ids: Arc<SecureCookieSerializer>,
    },
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
