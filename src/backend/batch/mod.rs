//! Natural batching: while an operation of a backend is in flight, the ones that arrive
//! meanwhile wait and go out together when it is done (as group commit does), so a busy
//! server makes fewer, larger round trips and an idle one adds no wait.

mod batched;
mod queue;

pub(crate) use batched::batched;
#[cfg(test)]
use batched::Batched;

#[cfg(test)]
mod tests;
