//! Session records in Redis: the backend, its shared connection, the record's layout in a hash,
//! and the scripts that write it.

mod backend;
mod batch;
mod cache;
mod cache_entries;
mod cache_server;
mod cache_watch;
mod cache_writes;
mod cluster_batch;
mod cluster_cache;
mod cluster_nodes;
mod connection;
mod fields;
mod listing;
mod scripts;

pub use backend::RedisBackend;
pub use cache_server::CacheServer;
