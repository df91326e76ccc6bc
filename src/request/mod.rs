//! The request tier: the request's registry of sessions, who saves it, and the one save path.

pub(crate) mod saver;
pub(crate) mod saving;
pub(crate) mod store;
