//! [`Flash<N>`]: the flash messages of one session, as an extractor and a save guard.

use std::fmt;

use serde_json::Value;

use crate::flash_message::{FlashMessage, Level};
use crate::name::DefaultSession;
use crate::session::Session;

/// The flash messages of session `N` (default: the default session), as an extractor.
///
/// Add messages before a redirect, take them on the page that shows them. Taking consumes them
/// ([`peek`](Self::peek) does not); a message for this response only is [`now`](Self::now).
/// `Flash` is a save guard like [`Session`]: return it from the handler. With the `minijinja`
/// feature, hand it to a template as a value: the messages are taken only if the template
/// iterates them, so a page that does not show them keeps them (Django's semantics).
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
///         .map(|m| format!("{}: {m}", m.level.as_ref().map_or("", |l| l.as_str())))
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
    /// Adds a message with a level, shown on a later request (after a redirect).
    ///
    /// ```
    /// # use axum_session_store::Flash;
    /// async fn saved(flash: Flash) -> Flash {
    ///     flash.add("Saved.", "notice");
    ///     flash
    /// }
    /// ```
    pub fn add(&self, message: impl Into<Value>, level: impl Into<Level>) {
        self.session.add_flash(message, Some(level.into()));
    }

    /// Adds a `debug` message.
    ///
    /// ```
    /// # use axum_session_store::Flash;
    /// async fn handler(flash: Flash) -> Flash {
    ///     flash.debug("Something to say.");
    ///     flash
    /// }
    /// ```
    pub fn debug(&self, message: impl Into<Value>) {
        self.add(message, Level::Debug);
    }

    /// Adds an `info` message.
    ///
    /// ```
    /// # use axum_session_store::Flash;
    /// async fn handler(flash: Flash) -> Flash {
    ///     flash.info("Something to say.");
    ///     flash
    /// }
    /// ```
    pub fn info(&self, message: impl Into<Value>) {
        self.add(message, Level::Info);
    }

    /// Adds a `success` message.
    ///
    /// ```
    /// # use axum_session_store::Flash;
    /// async fn handler(flash: Flash) -> Flash {
    ///     flash.success("Something to say.");
    ///     flash
    /// }
    /// ```
    pub fn success(&self, message: impl Into<Value>) {
        self.add(message, Level::Success);
    }

    /// Adds a `warning` message.
    ///
    /// ```
    /// # use axum_session_store::Flash;
    /// async fn handler(flash: Flash) -> Flash {
    ///     flash.warning("Something to say.");
    ///     flash
    /// }
    /// ```
    pub fn warning(&self, message: impl Into<Value>) {
        self.add(message, Level::Warning);
    }

    /// Adds an `error` message.
    ///
    /// ```
    /// # use axum_session_store::Flash;
    /// async fn handler(flash: Flash) -> Flash {
    ///     flash.error("Something went wrong.");
    ///     flash
    /// }
    /// ```
    pub fn error(&self, message: impl Into<Value>) {
        self.add(message, Level::Error);
    }

    /// Adds a message for this response only (Rails' `flash.now`): [`take`](Self::take) and
    /// [`peek`](Self::peek) in this request see it, after the stored ones, but it is never
    /// stored, so it does not outlive the response (and modifies nothing). For a page that
    /// renders instead of redirecting.
    ///
    /// ```
    /// # use axum_session_store::{Flash, Level};
    /// async fn form_with_errors(flash: Flash) -> (Flash, String) {
    ///     flash.now("Please fix the errors below.", Level::Error);
    ///     let page = flash.take().iter().map(ToString::to_string).collect();
    ///     (flash, page)
    /// }
    /// ```
    pub fn now(&self, message: impl Into<Value>, level: impl Into<Level>) {
        self.session
            .state
            .lock()
            .add_flash_now(message.into(), Some(level.into()));
    }

    /// Returns the messages and removes them from the session.
    ///
    /// ```
    /// # use axum_session_store::Flash;
    /// async fn show(flash: Flash) -> (Flash, String) {
    ///     let lines: Vec<String> = flash.take().iter().map(ToString::to_string).collect();
    ///     (flash, lines.join("\n"))
    /// }
    /// ```
    pub fn take(&self) -> Vec<FlashMessage> {
        self.session.get_flashes()
    }

    /// The messages [`take`](Self::take) would return, left in the session for a later page.
    ///
    /// ```
    /// # use axum_session_store::Flash;
    /// async fn badge(flash: Flash) -> String {
    ///     format!("{} messages waiting", flash.peek().len())
    /// }
    /// ```
    pub fn peek(&self) -> Vec<FlashMessage> {
        self.session.state.lock().peek_flashes()
    }

    /// The session that holds the messages.
    ///
    /// ```
    /// # use axum_session_store::Flash;
    /// async fn handler(flash: Flash) -> String {
    ///     flash.session().name().to_owned()
    /// }
    /// ```
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
