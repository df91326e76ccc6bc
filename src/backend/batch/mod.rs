//! Natural batching: while as many operations of a backend are in flight as it allows (one,
//! unless it says otherwise), the ones that arrive meanwhile wait and go out together when one
//! is done (as group commit does), so a busy server makes fewer, larger round trips and an idle
//! one adds no wait. What waits is bounded, in total and per session; taking a batch costs
//! O(batch) however many wait.

mod batched;
mod queue;

pub use batched::Batched;

#[cfg(test)]
mod tests;
