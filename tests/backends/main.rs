//! The backend behaviour suite (`common/suite.rs`) against every server-side backend, on the
//! real servers of this machine, plus what is particular to each.

#[path = "../common/mod.rs"]
mod common;

mod memory;
mod mysql;
mod postgres;
mod redis;
mod redis_cache;
mod redis_cluster;
mod redis_sentinel;
mod redis_tls;
mod sqlite;
