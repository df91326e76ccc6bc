//! Flash messages: [`Flash<N>`], [`FlashMessage`] and [`Level`].
//!
//! They are stored as webapp2 stores them: a list of `[value, level]` pairs under `_flash`.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use crate::name::DefaultSession;
use crate::session::Session;

/// The session key that holds the flash messages.
pub const FLASH_KEY: &str = "_flash";

/// The level of a flash message: the usual five, or any other word.
///
/// It serializes as its lowercase name (`"info"`), so templates can use it as a CSS class.
///
/// ```
/// use axum_session_store::Level;
///
/// assert_eq!(Level::from("warning"), Level::Warning);
/// assert_eq!(Level::from("notice").as_str(), "notice");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Level {
    /// `debug`
    Debug,
    /// `info`
    Info,
    /// `success`
    Success,
    /// `warning`
    Warning,
    /// `error`
    Error,
    /// Any other level, kept as written.
    Other(String),
}

impl Level {
    /// The level's name.
    pub fn as_str(&self) -> &str {
        match self {
            Level::Debug => "debug",
            Level::Info => "info",
            Level::Success => "success",
            Level::Warning => "warning",
            Level::Error => "error",
            Level::Other(other) => other,
        }
    }
}

impl From<&str> for Level {
    fn from(name: &str) -> Self {
        match name {
            "debug" => Level::Debug,
            "info" => Level::Info,
            "success" => Level::Success,
            "warning" => Level::Warning,
            "error" => Level::Error,
            other => Level::Other(other.to_owned()),
        }
    }
}

impl From<String> for Level {
    fn from(name: String) -> Self {
        match Level::from(name.as_str()) {
            Level::Other(_) => Level::Other(name),
            known => known,
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Level {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Level {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Level::from)
    }
}

/// One flash message, as a template sees it: `{"message": ..., "level": "info"}`.
///
/// ```
/// use axum_session_store::{FlashMessage, Level};
///
/// let message = FlashMessage { message: "Saved".into(), level: Some(Level::Success) };
/// assert_eq!(
///     serde_json::to_string(&message)?,
///     r#"{"message":"Saved","level":"success"}"#
/// );
/// assert_eq!(message.text(), Some("Saved"));
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FlashMessage {
    /// The message: usually a string, any JSON value allowed.
    pub message: Value,
    /// The level, if one was given.
    pub level: Option<Level>,
}

impl FlashMessage {
    /// The message when it is a string.
    pub fn text(&self) -> Option<&str> {
        self.message.as_str()
    }

    /// Reads one stored `[value, level]` pair; anything else is taken as a bare message.
    fn from_stored(stored: Value) -> Self {
        match stored {
            Value::Array(mut pair) if pair.len() == 2 => {
                let level = match pair.pop() {
                    Some(Value::String(level)) => Some(Level::from(level)),
                    _ => None,
                };
                let message = pair.pop().unwrap_or(Value::Null);
                FlashMessage { message, level }
            }
            message => FlashMessage {
                message,
                level: None,
            },
        }
    }
}

/// Appends `[message, level]` to the flash list in `values`.
pub(crate) fn push(values: &mut Map<String, Value>, message: Value, level: Option<Level>) {
    let entry = Value::Array(vec![
        message,
        level.map_or(Value::Null, |level| {
            Value::String(level.as_str().to_owned())
        }),
    ]);
    match values.get_mut(FLASH_KEY) {
        Some(Value::Array(list)) => list.push(entry),
        _ => {
            values.insert(FLASH_KEY.to_owned(), Value::Array(vec![entry]));
        }
    }
}

/// The messages of a stored flash list.
pub(crate) fn messages(stored: Value) -> Vec<FlashMessage> {
    match stored {
        Value::Array(list) => list.into_iter().map(FlashMessage::from_stored).collect(),
        other => vec![FlashMessage::from_stored(other)],
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn stored_as_webapp2_pairs() {
        let mut values = Map::new();
        push(&mut values, json!("a"), None);
        push(&mut values, json!("b"), Some(Level::Warning));
        assert_eq!(
            Value::Object(values.clone()),
            json!({"_flash": [["a", null], ["b", "warning"]]})
        );
        let taken = messages(values.remove(FLASH_KEY).expect("flashes present"));
        assert_eq!(
            taken[1],
            FlashMessage {
                message: json!("b"),
                level: Some(Level::Warning)
            }
        );
    }

    #[test]
    fn odd_stored_entries_become_bare_messages() {
        let taken = messages(json!(["plain", [1, 2, 3]]));
        assert_eq!(taken[0].message, json!("plain"));
        assert_eq!(taken[1].message, json!([1, 2, 3]));
        assert!(taken.iter().all(|m| m.level.is_none()));
    }
}
