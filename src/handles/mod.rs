//! The handles a handler holds: `Session<N>`, `Flash<N>`, `CsrfToken<N>`, and the sessions of
//! one user (methods of `Session`).

pub(crate) mod csrf;
pub(crate) mod devices;
pub(crate) mod flash;
pub(crate) mod session;

mod users;
