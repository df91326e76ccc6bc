//! [`Flash<N>`]: the flash messages of one session, as an extractor and a save guard.

use std::fmt;

use serde_json::Value;

use crate::flash_message::{FlashMessage, Level};
use crate::handles::session::Session;
use crate::name::DefaultSession;

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
#[doc(alias = "Messages")]
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
        Flash::queue(&self.session, message.into(), Some(level.into()));
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
    /// # use axum_session_store::{flash::Level, Flash};
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
        Flash::take_from(&self.session)
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

impl Flash {
    /// Queues a message in `session`, dropping the oldest past the session's limit.
    fn queue<N>(session: &Session<N>, message: Value, level: Option<Level>) {
        let max = session.state.profile().settings().limits.max_flashes;
        session.state.lock().add_flash(message, level, max);
    }

    /// Takes the messages of `session`.
    fn take_from<N>(session: &Session<N>) -> Vec<FlashMessage> {
        session.state.lock().take_flashes()
    }
}

/// webapp2's names for the flash methods, on the session itself.
impl<N> Session<N> {
    /// Appends a flash message, webapp2's `add_flash(value, level)`: [`Flash::add`] by its
    /// webapp2 name. It is stored as
    /// `[value, level]` in a list under `_flash`. A session keeps at most
    /// [`max_flashes`](crate::SessionConfigBuilder::max_flashes) messages (32 by default)
    /// waiting to be shown: beyond that, the oldest is dropped.
    ///
    /// ```
    /// # use axum::extract::FromRequestParts;
    /// # use axum_session_store::{Session, SessionConfig};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let secret = "an example secret, at least 32 bytes long";
    /// # let config = SessionConfig::builder().secret_key(secret).build()?;
    /// # let (mut parts, ()) = axum::http::Request::new(()).into_parts();
    /// let session: Session = Session::from_request_parts(&mut parts, &config).await?;
    /// use axum_session_store::flash::Level;
    /// session.add_flash("Saved.", Some(Level::Success));
    /// assert_eq!(session.get_flashes()[0].to_string(), "Saved.");
    /// # Ok(()) }
    /// ```
    #[doc(alias = "flash")]
    pub fn add_flash(&self, message: impl Into<Value>, level: Option<Level>) {
        Flash::queue(self, message.into(), level);
    }

    /// Takes the flash messages, webapp2's `get_flashes()`: [`Flash::take`] by its webapp2
    /// name. Returns them and removes them from the session (an empty list when there are none, which changes nothing).
    ///
    /// ```
    /// # use axum::extract::FromRequestParts;
    /// # use axum_session_store::{Session, SessionConfig};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let secret = "an example secret, at least 32 bytes long";
    /// # let config = SessionConfig::builder().secret_key(secret).build()?;
    /// # let (mut parts, ()) = axum::http::Request::new(()).into_parts();
    /// let session: Session = Session::from_request_parts(&mut parts, &config).await?;
    /// session.add_flash("Hello", None);
    /// assert_eq!(session.get_flashes().len(), 1);
    /// assert!(session.get_flashes().is_empty(), "taken once");
    /// # Ok(()) }
    /// ```
    pub fn get_flashes(&self) -> Vec<FlashMessage> {
        Flash::take_from(self)
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
