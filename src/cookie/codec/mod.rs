//! Cookie codecs: the signed format (webapp2's `payload|timestamp|signature`) and the sealed
//! (encrypted) one, with the checks they share. The codecs know nothing of sessions, backends
//! or HTTP.
// Without `test-util`, the codecs are the crate's own: nothing outside reaches them.
#![cfg_attr(not(feature = "test-util"), allow(unreachable_pub))]

mod cookie_codec;
mod json;
mod private;
mod signed;
mod verified;

pub(crate) use cookie_codec::CookieCodec;
pub(crate) use json::to_json;
pub use private::PrivateCookieSerializer;
pub use signed::SecureCookieSerializer;
pub(crate) use verified::check_age;
#[cfg(feature = "test-util")]
pub use verified::MAX_CLOCK_SKEW;
pub use verified::{VerifiedCookie, VerifyError, MAX_COOKIE_VALUE_LEN};
