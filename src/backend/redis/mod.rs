//! Session records in Redis: the backend, its shared connection, the record's layout in a hash,
//! and the scripts that write it.

mod backend;
mod batch;
mod cache;
mod connection;
mod fields;
mod scripts;

pub use backend::RedisBackend;
