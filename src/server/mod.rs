//! Server-side sessions: the cookie holds only a signed `{"_sid": id}`; the data lives in a
//! [`SessionBackend`](crate::SessionBackend) under that id. The id cookie, loading, planning a
//! save, and carrying the plan out.

mod id_cookie;
mod load;
mod plan;
mod save;

pub(crate) use load::load;
pub(crate) use save::save;
