//! [`Flash<N>`]: the flash messages of one session, as an extractor and a save guard.

use std::fmt;

use serde_json::Value;

use crate::flash_message::{FlashMessage, Level};
use crate::name::DefaultSession;
use crate::session::Session;

/// The flash messages of session `N` (default: the default session), as an extractor.
///
/// Add messages before a redirect, take them on the page that shows them. Taking consumes them;
/// the session is saved even when that leaves it empty. `Flash` is a save guard like
/// [`Session`]: return it from the handler.
///
/// # Example
/// ```
/// use axum::{response::Redirect, routing::get, Router};
/// use axum_session_store::{Flash, SessionConfig};
///
/// async fn save(flash: Flash) -> (Flash, Redirect) {
///     flash.success("Saved.");
///     (flash, Redirect::to("/"))
/// }
///
/// async fn show(flash: Flash) -> (Flash, String) {
///     let lines: Vec<String> = flash
///         .take()
///         .iter()
///         .map(|m| format!("{}: {}", m.level.as_ref().map_or("", |l| l.as_str()), m.message))
///         .collect();
///     (flash, lines.join("\n"))
/// }
///
/// # fn main() -> Result<(), axum_session_store::ConfigError> {
/// # let secret = "an example secret, at least 32 bytes long";
/// let config = SessionConfig::builder().secret_key(secret).build()?;
/// let app: Router = Router::new()
///     .route("/", get(show))
///     .route("/save", get(save))
///     .with_state(config);
/// # Ok(()) }
/// ```
#[must_use = "return the flash from the handler, or add `config.layer()`, so that changes are saved"]
pub struct Flash<N = DefaultSession> {
    pub(crate) session: Session<N>,
}

impl<N> Flash<N> {
    /// Adds a message with a level.
    pub fn add(&self, message: impl Into<Value>, level: impl Into<Level>) {
        self.session.add_flash(message, Some(level.into()));
    }

    /// Adds a `debug` message.
    pub fn debug(&self, message: impl Into<Value>) {
        self.add(message, Level::Debug);
    }

    /// Adds an `info` message.
    pub fn info(&self, message: impl Into<Value>) {
        self.add(message, Level::Info);
    }

    /// Adds a `success` message.
    pub fn success(&self, message: impl Into<Value>) {
        self.add(message, Level::Success);
    }

    /// Adds a `warning` message.
    pub fn warning(&self, message: impl Into<Value>) {
        self.add(message, Level::Warning);
    }

    /// Adds an `error` message.
    pub fn error(&self, message: impl Into<Value>) {
        self.add(message, Level::Error);
    }

    /// Returns the messages and removes them from the session.
    pub fn take(&self) -> Vec<FlashMessage> {
        self.session.get_flashes()
    }

    /// The session that holds the messages.
    pub fn session(&self) -> &Session<N> {
        &self.session
    }
}

impl<N> Clone for Flash<N> {
    fn clone(&self) -> Self {
        Self {
            session: self.session.clone(),
        }
    }
}

impl<N> fmt::Debug for Flash<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Flash")
            .field("session", &self.session.name())
            .finish()
    }
}
