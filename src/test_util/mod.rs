//! A kit for testing applications that use sessions (cargo feature `test-util`).
//!
//! - [`CookieJar`]: a browser's cookie jar for one site, to carry sessions from response to
//!   request in tests that drive a `Router`.

mod jar;

pub use jar::CookieJar;
