//! Cookie attributes, the limits of a cookie's value, and the session cookies of the
//! frameworks an app may move from ([`LegacyCookie`]). (Inside: the signed and encrypted
//! cookie codecs, and the parsed `Cookie` header.)

pub(crate) mod args;
pub(crate) mod codec;
pub(crate) mod legacy;
pub(crate) mod request;

pub use args::CookieArgs;
pub use axum_extra::extract::cookie::SameSite;
pub use codec::MAX_COOKIE_VALUE_LEN;
pub use legacy::LegacyCookie;
