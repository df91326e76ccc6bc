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
#![cfg_attr(docsrs, feature(doc_cfg))]

// The map of the crate (for contributors):
//
// Each file imports only from the files above it (CI checks that no two import each other in a
// circle: `python3 .ci/check-module-order.py`):
//
// | tier | files and folders | what they hold |
// | --- | --- | --- |
// | leaves | `id`, `key`, `handle`, `metadata`, `nesting`, `reserved`, `expiry`, `flash_message`, `csrf_token`, `csrf_origin`, `cache_headers`, `rejection_log`, `telemetry`, `config_error`, `conflict`, `json_size`, `name` | session ids, HKDF keys, session handles, what sessions record about their clients, the nesting limit, the reserved keys, lifetimes and the expiry policy, the flash data model, the CSRF token format and origin check, caching headers, rate-limited logging, metrics (feature `metrics`), `ConfigError`, what a conflict handler is told, sizes of JSON, session names |
// | storage | `backend/`, `cookie/` (`args`, `request`, `codec/`, `legacy/`), `error`, `event`, `event_sink` | the `SessionBackend` trait, its optional capabilities, natural batching (`backend/batch/`) and the built-in backends; cookie attributes, the parsed `Cookie` header, the signed and sealed cookie codecs, the webapp2, Flask and Django cookie readers; `SessionError`; lifecycle events and the buffer that delivers them |
// | settings | `config/` (`keeper`, `profile`, `built`, `builder`) | a session's storage ready to use, one resolved profile per session name, the built config and its builder |
// | state | `state/` (`meta`, `flags`, `data`, `shared`) | what a session keeps for the crate (its lifetime, CSRF secret, user); what is pending on it; one session's data and its invariants; the request's shared handle to it |
// | writing | `legacy_session`, `set_cookie`, `cookie_session` | a session read from another framework's cookie; the `Set-Cookie` header; loading and writing cookie sessions |
// | server | `server/` (`id_cookie`, `load`, `plan`, `save`) | server-side sessions: the id cookie, loading, planning a save, carrying it out |
// | request | `request/` (`saver`, `store`, `saving`) | who saves; the request's registry of sessions; the one save path |
// | handles | `handles/` (`session`, `flash`, `csrf`, `users`) | `Session<N>`, `Flash<N>` (and webapp2's flash names), `CsrfToken<N>`, the sessions of one user |
// | axum glue | `glue/` (`extract`, `guard`, `layer`, `csrf_layer`, `flash_template`) | the extractors, the `IntoResponseParts` guard, `SessionLayer`, `CsrfLayer`, `Flash` as a minijinja value |
// | testing kit | `test_util/` (feature `test-util`) | what tests of an application need: a cookie jar, sessions made and read outside a request, the backend suites, the cookie codecs |
//
// The public face is the root and the modules `backend`, `cookie`, `csrf`, `flash`, `session`
// and `test_util`; everything else is the crate's own.

// Leaves.
mod aead;
mod cache_headers;
mod config_error;
mod conflict;
mod csrf_origin;
mod csrf_token;
mod expiry;
mod flash_message;
mod handle;
mod id;
mod json_size;
mod key;
mod metadata;
mod nesting;
mod rejection_log;
mod reserved;
mod telemetry;
// Storage.
pub mod backend;
pub mod cookie;
mod error;
mod event;
mod event_sink;
mod name;
// Settings.
mod config;
// State.
mod state;
// Writing.
mod cookie_session;
mod legacy_session;
mod set_cookie;
// Server-side sessions.
mod server;
// The request.
mod request;
// Handles.
mod handles;
// Axum glue.
mod glue;
// The testing kit.
#[cfg(feature = "test-util")]
#[cfg_attr(docsrs, doc(cfg(feature = "test-util")))]
pub mod test_util;

pub use backend::error::BackendError;
pub use backend::session_backend::SessionBackend;
pub use config::builder::SessionConfigBuilder;
pub use config::built::SessionConfig;
pub use config_error::ConfigError;
pub use error::SessionError;
pub use glue::layer::SessionLayer;
pub use handles::flash::Flash;
pub use handles::session::Session;
pub use id::SessionId;
pub use name::{DefaultSession, SessionName};
pub use request::store::SessionStore;

/// Cross-site request forgery protection: the token a form carries, and the layer that checks it.
pub mod csrf {
    pub use crate::glue::csrf_layer::{CsrfLayer, CsrfService};
    pub use crate::handles::csrf::{CsrfToken, FORM_FIELD, HEADER};
}

/// Flash messages: what [`Flash`] adds and templates read.
pub mod flash {
    pub use crate::flash_message::{FlashMessage, Level, FLASH_KEY};
}

/// What a session is made of besides its values: its lifetime, its reserved keys and limits,
/// the marker of sessions named at run time, and what a conflict handler is told.
pub mod session {
    pub use crate::conflict::Conflict;
    pub use crate::event::{EventKind, RejectionReason, SessionEvent, SessionEvents};
    pub use crate::expiry::Expiry;
    pub use crate::glue::layer::SessionService;
    pub use crate::handle::{InvalidHandle, SessionHandle};
    pub use crate::handles::devices::Device;
    pub use crate::metadata::{ClientAddress, Metadata, MAX_LABEL_LEN, MAX_USER_AGENT_LEN};
    pub use crate::name::RuntimeName;
    pub use crate::nesting::MAX_VALUE_DEPTH;
    pub use crate::reserved::{CREATED_KEY, MAX_USER_ID_LEN, METADATA_KEY, USER_KEY};
}

/// The deadpool-redis this crate is built against (0.23), to make pools of the matching version.
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub use deadpool_redis;
/// The minijinja this crate is built against (2.x), so that `Flash` and your templates agree.
#[cfg(feature = "minijinja")]
#[cfg_attr(docsrs, doc(cfg(feature = "minijinja")))]
pub use minijinja;
/// The sqlx this crate is built against (0.8), to make pools of the matching version:
/// `axum_session_store::sqlx::PgPool` is the pool `PostgresBackend::new` takes.
#[cfg(feature = "sqlx")]
#[cfg_attr(
    docsrs,
    doc(cfg(any(feature = "postgres", feature = "sqlite", feature = "mysql")))
)]
pub use sqlx;

/// The README's code blocks, compiled as doctests so they stay true.
#[cfg(all(doctest, feature = "redis"))]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
