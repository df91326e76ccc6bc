//! Server-side records sealed at rest ([`Storage::sealed`](super::Storage::sealed)): the keys,
//! the sealed layout, and the backend that seals what it is given.

mod backend;
mod keys;
mod record;

pub(crate) use backend::SealedBackend;
pub(crate) use keys::{KeySlot, RecordKeys};
pub(crate) use record::Token;
