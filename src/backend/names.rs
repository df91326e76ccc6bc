//! The names under which the built-in backends are registered.

/// The name under which the signed-cookie backend is registered.
pub const SECURE_COOKIE: &str = "securecookie";

/// The name under which the encrypted-cookie backend is registered.
pub const PRIVATE_COOKIE: &str = "privatecookie";

/// The name under which the in-memory backend is registered.
pub const MEMORY: &str = "memory";
