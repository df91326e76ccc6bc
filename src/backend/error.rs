//! [`BackendError`]: what a backend reports when it fails.

use std::error::Error as StdError;
use std::sync::Arc;

/// A backend's failure: the server is unreachable, a query failed, a record is corrupt.
///
/// It keeps the cause as its [`source`](StdError::source). Clones share the cause: a batch of
/// operations that failed as one gives each of them the same error.
#[derive(Clone, Debug, thiserror::Error)]
#[error("{context}")]
pub struct BackendError {
    context: String,
    #[source]
    source: Option<Arc<dyn StdError + Send + Sync>>,
    kind: Kind,
}

/// What kind of failure a [`BackendError`] is, where callers act on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Failed,
    /// The backend does not offer the operation at all.
    Unsupported,
    /// The backend did not answer in time.
    Timeout,
}

impl BackendError {
    /// An error with a cause, and a sentence that says what was being done.
    ///
    /// ```
    /// use axum_session_store::BackendError;
    ///
    /// let io = std::io::Error::other("disk full");
    /// let error = BackendError::new("writing a session file", io);
    /// assert_eq!(error.to_string(), "writing a session file");
    /// assert!(std::error::Error::source(&error).is_some());
    /// ```
    pub fn new(
        context: impl Into<String>,
        source: impl Into<Box<dyn StdError + Send + Sync>>,
    ) -> Self {
        Self {
            context: context.into(),
            source: Some(Arc::from(source.into())),
            kind: Kind::Failed,
        }
    }

    /// An error that has no underlying cause.
    ///
    /// ```
    /// use axum_session_store::BackendError;
    ///
    /// let error = BackendError::msg("the record is corrupt");
    /// assert_eq!(error.to_string(), "the record is corrupt");
    /// ```
    pub fn msg(context: impl Into<String>) -> Self {
        Self {
            context: context.into(),
            source: None,
            kind: Kind::Failed,
        }
    }

    /// The backend does not offer `operation`: a Redis Cluster has no user index, and a
    /// backend registered without [`UserIndex`](crate::backend::UserIndex) neither.
    ///
    /// [`SessionBackend`]: crate::SessionBackend
    ///
    /// ```
    /// use axum_session_store::BackendError;
    ///
    /// let error = BackendError::unsupported("listing a user's sessions");
    /// assert!(error.is_unsupported());
    /// assert_eq!(error.to_string(), "this backend does not support listing a user's sessions");
    /// ```
    pub fn unsupported(operation: &str) -> Self {
        Self {
            context: format!("this backend does not support {operation}"),
            source: None,
            kind: Kind::Unsupported,
        }
    }

    /// Whether the backend does not offer the operation at all.
    ///
    /// ```
    /// use axum_session_store::BackendError;
    ///
    /// assert!(!BackendError::msg("timeout").is_unsupported());
    /// ```
    pub fn is_unsupported(&self) -> bool {
        self.kind == Kind::Unsupported
    }

    /// The backend did not answer within its time bound: `context` says what was being done
    /// and how long it waited. A request that fails so is answered `503 Service Unavailable`
    /// (other backend failures `500`).
    ///
    /// ```
    /// use axum_session_store::BackendError;
    ///
    /// let error = BackendError::timeout("loading a session: no answer within 5000 ms");
    /// assert!(error.is_timeout());
    /// assert!(!BackendError::msg("the record is corrupt").is_timeout());
    /// ```
    pub fn timeout(context: impl Into<String>) -> Self {
        Self {
            kind: Kind::Timeout,
            ..Self::msg(context)
        }
    }

    /// Whether the backend did not answer in time (see [`timeout`](Self::timeout)).
    ///
    /// ```
    /// use axum_session_store::BackendError;
    ///
    /// assert!(BackendError::timeout("no answer within 5000 ms").is_timeout());
    /// ```
    pub fn is_timeout(&self) -> bool {
        self.kind == Kind::Timeout
    }

    /// This error, marked as a [`timeout`](Self::timeout) if `timed_out` (a client's own
    /// timeout, with its cause kept).
    #[cfg(feature = "redis")]
    pub(crate) fn timeout_if(self, timed_out: bool) -> Self {
        if timed_out {
            Self {
                kind: Kind::Timeout,
                ..self
            }
        } else {
            self
        }
    }

    /// This error as the result of each of `n` operations that failed as one (a batch).
    #[cfg(any(
        feature = "redis",
        feature = "postgres",
        feature = "sqlite",
        feature = "mysql"
    ))]
    pub(crate) fn for_each<T>(&self, n: usize) -> Vec<Result<T, Self>> {
        (0..n).map(|_| Err(self.clone())).collect()
    }
}

/// The results of a batch, with an error for any item that got none.
#[cfg(any(
    feature = "redis",
    feature = "postgres",
    feature = "sqlite",
    feature = "mysql"
))]
pub(crate) fn unanswered<T>(
    results: Vec<Option<Result<T, BackendError>>>,
) -> Vec<Result<T, BackendError>> {
    results
        .into_iter()
        .map(|result| {
            result.unwrap_or_else(|| Err(BackendError::msg("a save of the batch was not run")))
        })
        .collect()
}
