//! A kit for testing applications that use sessions (cargo feature `test-util`).
//!
//! - [`CookieJar`]: a browser's cookie jar for one site, to carry sessions from response to
//!   request in tests that drive a `Router`.
//! - [`session_cookie`]: the cookie of a session holding given values (signed, sealed or
//!   server-side), to send with a request; [`read_session`]: the session a jar (or a response)
//!   carries.
//! - [`backend_suite`], [`batching_suite`], [`user_index_suite`]: the behaviour every
//!   `SessionBackend` (and each optional capability) must have, to run against a backend of
//!   your own.
//! - The cookie codecs, [`SecureCookieSerializer`] (webapp2's signed format) and
//!   [`PrivateCookieSerializer`] (encrypted), with [`VerifyError`], the reason a value is
//!   refused: to forge, tamper with or read cookies in a test. A config hands them out
//!   ([`SessionConfig::serializer`](crate::SessionConfig::serializer) and its siblings).

mod backend_suite;
mod jar;
mod sessions;

pub use backend_suite::{backend_suite, batching_suite, user_index_suite};
pub use jar::CookieJar;
pub use sessions::{read_session, session_cookie};

pub use crate::cookie::codec::{
    PrivateCookieSerializer, SecureCookieSerializer, VerifiedCookie, VerifyError, MAX_CLOCK_SKEW,
};
