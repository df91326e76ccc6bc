//! Sessions for [Axum](https://docs.rs/axum) in the manner of webapp2's `webapp2_extras.sessions`:
//! a request-scoped [`SessionStore`] that hands out any number of named sessions, each kept by
//! its own backend, plus flash messages.
//!
//! - [`SessionConfig`] (in the router state) mirrors webapp2's `default_config`: `secret_key`,
//!   `cookie_name`, `session_max_age`, `cookie_args`, `backends`.
//! - [`Session<N>`] and [`Flash<N>`] are extractors; `N` names the session (see
//!   [`SessionName`]), `Session` alone is the default one.
//! - Returning any of them (or the [`SessionStore`]) from the handler saves every modified
//!   session: the signed-cookie backend writes `Set-Cookie` headers.
//!
//! # Example
//! ```
//! use axum::{routing::get, Router};
//! use axum_session_store::{Flash, Session, SessionConfig, SessionError};
//!
//! async fn counter(session: Session, flash: Flash) -> Result<(Session, String), SessionError> {
//!     let visits: u64 = session.get("visits")?.unwrap_or(0) + 1;
//!     session.insert("visits", visits)?;
//!     if visits == 1 {
//!         flash.info("Welcome!");
//!     }
//!     Ok((session, format!("visit number {visits}")))
//! }
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # std::env::set_var("SESSION_SECRET", "an example secret, at least 32 bytes long");
//! // From the environment or a secret store, never from the code, and with no default: a
//! // missing secret must stop the app, not sign its cookies with a key anyone can read.
//! let config = SessionConfig::builder()
//!     .secret_key(std::env::var("SESSION_SECRET")?)
//!     .build()?;
//! let app: Router = Router::new().route("/", get(counter)).with_state(config);
//! # Ok(()) }
//! ```
#![warn(clippy::unwrap_used, clippy::expect_used)]

mod backend;
mod cache_headers;
mod codec;
mod config;
mod cookie_args;
mod error;
mod expiry;
mod extract;
mod flash;
mod guard;
mod id;
mod key;
mod layer;
mod name;
mod nesting;
mod rejection_log;
mod request_cookies;
mod server_session;
mod session;
mod state;
mod store;

pub use axum_extra::extract::cookie::SameSite;
#[cfg(feature = "mysql")]
pub use backend::MySqlBackend;
#[cfg(feature = "postgres")]
pub use backend::PostgresBackend;
#[cfg(feature = "redis")]
pub use backend::RedisBackend;
#[cfg(feature = "sqlite")]
pub use backend::SqliteBackend;
pub use backend::{
    spawn_cleanup, BackendError, BoxFuture, Changes, MemoryBackend, Record, Regenerated,
    SessionBackend, WhenFull, DEFAULT_MAX_BYTES, DEFAULT_MAX_RECORDS, MEMORY, PRIVATE_COOKIE,
    SECURE_COOKIE,
};
pub use codec::{
    PrivateCookieSerializer, SealError, SecureCookieSerializer, VerifiedCookie, VerifyError,
    MAX_CLOCK_SKEW, MAX_COOKIE_VALUE_LEN,
};
pub use config::{
    SessionConfig, SessionConfigBuilder, DEFAULT_COOKIE_NAME, DEFAULT_MAX_SESSIONS_PER_REQUEST,
    DEFAULT_SERVER_SESSION_TTL,
};
pub use cookie_args::CookieArgs;
/// The deadpool-redis this crate is built against, to make pools of the matching version.
#[cfg(feature = "redis")]
pub use deadpool_redis;
pub use error::{ConfigError, SessionError};
pub use expiry::CREATED_KEY;
pub use flash::{Flash, FlashMessage, Level, FLASH_KEY};
pub use id::{SessionId, SESSION_ID_LEN};
pub use layer::{SessionLayer, SessionService};
pub use name::{DefaultSession, RuntimeName, SessionName};
pub use nesting::MAX_VALUE_DEPTH;
pub use request_cookies::DEFAULT_MAX_COOKIE_PAIRS;
pub use session::Session;
pub use store::SessionStore;

/// The README's code blocks, compiled as doctests so they stay true.
#[cfg(all(doctest, feature = "redis"))]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
