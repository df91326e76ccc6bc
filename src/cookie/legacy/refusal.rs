//! [`Refusal`]: why another framework's cookie was not read.

use super::encoding::{DecodeError, MAX_INFLATED_LEN};
use crate::cookie::codec::VerifyError;

/// Why a legacy cookie was not read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) enum Refusal {
    /// What this crate's own cookies can be refused for too.
    #[error(transparent)]
    Cookie(#[from] VerifyError),
    /// The payload inflates to more than [`MAX_INFLATED_LEN`] bytes.
    #[error("cookie payload inflates past {MAX_INFLATED_LEN} bytes")]
    TooLarge,
    /// Past the configured `until` date.
    #[error("legacy cookies are no longer read (past the configured date)")]
    PastDeadline,
}

impl From<DecodeError> for Refusal {
    fn from(error: DecodeError) -> Self {
        match error {
            DecodeError::TooLarge => Refusal::TooLarge,
            DecodeError::Malformed => Refusal::Cookie(VerifyError::BadPayload),
        }
    }
}
