//! The state tier: one session's data and its invariants, what it keeps for the crate, what is
//! pending on it, and the request's shared handle to it.

pub(crate) mod data;
pub(crate) mod flags;
pub(crate) mod meta;
pub(crate) mod shared;
