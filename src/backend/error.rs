//! [`BackendError`]: what a backend reports when it fails.

use std::error::Error as StdError;

/// A backend's failure: the server is unreachable, a query failed, a record is corrupt.
///
/// It keeps the cause as its [`source`](StdError::source).
#[derive(Debug, thiserror::Error)]
#[error("{context}")]
pub struct BackendError {
    context: String,
    #[source]
    source: Option<Box<dyn StdError + Send + Sync>>,
    /// The backend does not offer the operation at all.
    unsupported: bool,
}

impl BackendError {
    /// An error with a cause, and a sentence that says what was being done.
    pub fn new(
        context: impl Into<String>,
        source: impl Into<Box<dyn StdError + Send + Sync>>,
    ) -> Self {
        Self {
            context: context.into(),
            source: Some(source.into()),
            unsupported: false,
        }
    }

    /// An error that has no underlying cause.
    pub fn msg(context: impl Into<String>) -> Self {
        Self {
            context: context.into(),
            source: None,
            unsupported: false,
        }
    }

    /// The backend does not offer `operation` (what the optional [`SessionBackend`] methods
    /// answer by default).
    ///
    /// [`SessionBackend`]: crate::SessionBackend
    pub fn unsupported(operation: &str) -> Self {
        Self {
            context: format!("this backend does not support {operation}"),
            source: None,
            unsupported: true,
        }
    }

    /// Whether the backend does not offer the operation at all.
    pub fn is_unsupported(&self) -> bool {
        self.unsupported
    }
}
