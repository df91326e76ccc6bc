//! The keys this crate keeps inside sessions for itself. They never show among a session's
//! keys, and handlers cannot write them.

/// The reserved key that carries a session's creation time (Unix seconds) in its cookie or
/// record, when an absolute lifetime is configured.
pub const CREATED_KEY: &str = "_created";

/// The reserved key of a session's own lifetime, set by
/// [`Session::set_expiry`](crate::Session::set_expiry).
pub(crate) const EXPIRY_KEY: &str = "_expiry";

/// The reserved key of a session's CSRF secret.
pub(crate) const CSRF_KEY: &str = "_csrf";

/// The reserved key of the user a server-side session belongs to, which a
/// [`UserIndex`](crate::backend::UserIndex) finds sessions by.
pub const USER_KEY: &str = "_user";

/// The longest user id [`Session::set_user_id`](crate::Session::set_user_id) accepts, in
/// bytes: it fits every built-in backend's indexed column.
pub const MAX_USER_ID_LEN: usize = 255;

/// The reserved key of a session's metadata (creation and last-seen times, user agent, client
/// address, label), when [`SessionConfigBuilder::metadata`](crate::SessionConfigBuilder::metadata)
/// turns it on or [`Session::set_device_label`](crate::Session::set_device_label) sets a label.
pub const METADATA_KEY: &str = "_meta";

/// The reserved key under which a sealed record, once opened, carries its own key to the
/// request's save. Only in memory: the backend that seals it never stores it.
pub(crate) const SEAL_KEY: &str = "_seal";

/// Every reserved key.
pub(crate) const RESERVED_KEYS: [&str; 6] = [
    CREATED_KEY,
    EXPIRY_KEY,
    CSRF_KEY,
    USER_KEY,
    METADATA_KEY,
    SEAL_KEY,
];

/// Whether `key` is one the crate keeps in sessions for itself.
pub(crate) fn is_reserved(key: &str) -> bool {
    RESERVED_KEYS.contains(&key)
}
