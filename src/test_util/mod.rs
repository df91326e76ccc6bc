//! A kit for testing applications that use sessions (cargo feature `test-util`).
//!
//! - [`CookieJar`]: a browser's cookie jar for one site, to carry sessions from response to
//!   request in tests that drive a `Router`.
//! - [`session_cookie`]: the cookie of a session holding given values (signed, sealed or
//!   server-side), to send with a request; [`read_session`]: the session a jar (or a response)
//!   carries.
//! - [`backend_suite`]: the behaviour every `SessionBackend` must have, to run against a backend
//!   of your own.

mod backend_suite;
mod jar;
mod sessions;

pub use backend_suite::backend_suite;
pub use jar::CookieJar;
pub use sessions::{read_session, session_cookie};
