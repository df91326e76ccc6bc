//! The flash data model: [`FlashMessage`] and [`Level`], and how messages are stored in a
//! session, as webapp2 stores them: a list of `[value, level]` pairs under `_flash`.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

/// The session key that holds the flash messages.
pub const FLASH_KEY: &str = "_flash";

/// The level of a flash message: the usual five, or any other word.
///
/// It serializes as its lowercase name (`"info"`), so templates can use it as a CSS class.
///
/// ```
/// use axum_session_store::flash::Level;
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
    ///
    /// ```
    /// use axum_session_store::flash::Level;
    ///
    /// assert_eq!(Level::Warning.as_str(), "warning");
    /// assert_eq!(Level::from("notice").as_str(), "notice");
    /// ```
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
/// use axum_session_store::flash::{FlashMessage, Level};
///
/// let message = FlashMessage::new("Saved", Some(Level::Success));
/// assert_eq!(
///     serde_json::to_string(&message)?,
///     r#"{"message":"Saved","level":"success"}"#
/// );
/// assert_eq!(message.text(), Some("Saved"));
/// assert_eq!(message.to_string(), "Saved");
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct FlashMessage {
    /// The message: usually a string, any JSON value allowed.
    pub message: Value,
    /// The level, if one was given.
    pub level: Option<Level>,
}

/// The message's text: a string message as it is, any other value as its JSON text.
impl fmt::Display for FlashMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.message {
            Value::String(text) => f.write_str(text),
            other => write!(f, "{other}"),
        }
    }
}

impl FlashMessage {
    /// The message `message`, at `level` if one is given.
    ///
    /// ```
    /// use axum_session_store::flash::{FlashMessage, Level};
    ///
    /// let message = FlashMessage::new("Saved", Some(Level::Success));
    /// assert_eq!(message.to_string(), "Saved");
    /// ```
    pub fn new(message: impl Into<Value>, level: Option<Level>) -> Self {
        Self {
            message: message.into(),
            level,
        }
    }

    /// The message when it is a string.
    ///
    /// ```
    /// use axum_session_store::flash::FlashMessage;
    ///
    /// let message = FlashMessage::new("Saved", None);
    /// assert_eq!(message.text(), Some("Saved"));
    /// ```
    pub fn text(&self) -> Option<&str> {
        self.message.as_str()
    }

    /// The level's name, or `default` when the message has none: a CSS class for templates.
    ///
    /// ```
    /// use axum_session_store::flash::{FlashMessage, Level};
    ///
    /// let plain = FlashMessage::new("Hi", None);
    /// assert_eq!(plain.level_or("info"), "info");
    /// let warning = FlashMessage::new("Careful", Some(Level::Warning));
    /// assert_eq!(warning.level_or("info"), "warning");
    /// ```
    pub fn level_or<'a>(&'a self, default: &'a str) -> &'a str {
        self.level.as_ref().map_or(default, Level::as_str)
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

/// Appends `[message, level]` to the flash list in `values`, dropping the oldest messages
/// beyond `max` (at least the new one is kept).
pub(crate) fn push(
    values: &mut Map<String, Value>,
    message: Value,
    level: Option<Level>,
    max: usize,
) {
    let entry = Value::Array(vec![
        message,
        level.map_or(Value::Null, |level| {
            Value::String(level.as_str().to_owned())
        }),
    ]);
    match values.get_mut(FLASH_KEY) {
        Some(Value::Array(list)) => {
            list.push(entry);
            let excess = list.len().saturating_sub(max.max(1));
            list.drain(..excess);
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn beyond_the_most_kept_the_oldest_messages_are_dropped() {
        let mut values = Map::new();
        for i in 0..10 {
            push(&mut values, json!(i), None, 3);
        }
        assert_eq!(
            Value::Object(values),
            json!({"_flash": [[7, null], [8, null], [9, null]]})
        );
    }

    #[test]
    fn stored_as_webapp2_pairs() {
        let mut values = Map::new();
        push(&mut values, json!("a"), None, 8);
        push(&mut values, json!("b"), Some(Level::Warning), 8);
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
