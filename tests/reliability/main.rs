//! Reliability: sustained load on every backend, and Redis and PostgreSQL restarted under load,
//! all over real TCP (`axum::serve` on 127.0.0.1:0, driven by hyper's HTTP/1.1 client, one
//! cookie jar per keep-alive connection, as browsers keep them).
//!
//! Long-running, hence ignored by the normal `cargo test`; run them with
//!
//! ```sh
//! cargo test --all-features --test reliability -- --ignored --test-threads=1
//! ```
//!
//! `RELIABILITY_SECONDS` (default 60) sets how long the sustained load runs on each backend;
//! `RELIABILITY_BACKENDS` (default: all) picks some of them, by case-insensitive substrings of
//! their names separated by commas (`RELIABILITY_BACKENDS=redis,sqlite`).
//! The restart tests start servers of their own (a `redis-server` child, a PostgreSQL cluster
//! made by `initdb` in a temporary directory) and never touch the shared ones beyond a unique
//! key prefix or table.
#![cfg_attr(
    not(all(
        feature = "redis",
        feature = "postgres",
        feature = "sqlite",
        feature = "mysql"
    )),
    allow(dead_code, unused_imports)
)]

use session_test_support as common;

mod failovers;
mod harness;
mod http;
mod load;
mod private_postgres;
mod restarts;
mod targets;
