//! Cookie codecs: the signed format (webapp2's `payload|timestamp|signature`) and the sealed
//! (encrypted) one, with the checks they share. The codecs know nothing of sessions, backends
//! or HTTP.

mod cookie_codec;
mod json;
mod private;
mod signed;
mod verified;

pub(crate) use cookie_codec::CookieCodec;
pub(crate) use json::to_json;
pub use private::{PrivateCookieSerializer, SealError};
pub use signed::SecureCookieSerializer;
pub use verified::{VerifiedCookie, VerifyError, MAX_CLOCK_SKEW, MAX_COOKIE_VALUE_LEN};
