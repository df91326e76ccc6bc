//! Session records in this process's memory: the backend and its limits, the records under its
//! lock, and what a record weighs.

mod backend;
mod size;
mod store;

pub use backend::{MemoryBackend, WhenFull};
