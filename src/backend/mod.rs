//! Where session data lives: in the cookie itself, or (later) on a server under an id.

use std::collections::HashMap;

/// The name under which the signed-cookie backend is registered.
pub const SECURE_COOKIE: &str = "securecookie";

/// A registered backend.
#[derive(Clone, Debug)]
pub(crate) enum Backend {
    /// The data is the cookie's signed payload.
    SecureCookie,
}

impl Backend {
    /// The backends every config has.
    pub(crate) fn defaults() -> HashMap<String, Backend> {
        HashMap::from([(SECURE_COOKIE.to_owned(), Backend::SecureCookie)])
    }
}
