//! What the load benchmark's binaries and the criterion benchmarks share: the contenders, the
//! HTTP load client, the data the codec benchmarks encode, a counting allocator, and CPU time.
//! (The cookie jar is the crate's own, `axum_session_store::test_util::CookieJar`.)

pub mod batches;
pub mod client;
pub mod cluster;
pub mod contenders;
pub mod counting;
pub mod cpu;
pub mod fixture;
