//! The data that the codec benchmarks encode, shared by `benches/codec.rs` (criterion, timing)
//! and `src/bin/codec_allocs.rs` (allocation counts), so both measure the same bytes.

use serde_json::{json, Map, Value};
use time::OffsetDateTime;

/// The secret the benchmark configs are built with (48 bytes).
pub const SECRET: &[u8] = b"benchmark secret: not for production, 48 bytes!!";

/// The cookie name the values are signed for.
pub const COOKIE_NAME: &str = "session";

/// A fixed signing time, so every run signs the same bytes.
pub fn signed_at() -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_750_000_000).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// A realistic session, about 200 bytes of compact JSON: a user id, a name, a CSRF token and
/// one flash message (in the crate's own `_flash` layout: `[[message, level]]`).
pub fn session() -> Map<String, Value> {
    let value = json!({
        "user_id": 48_213_775,
        "name": "Ada King, Countess of Lovelace",
        "csrf_token": "q7Xb2lP0vR9sK4mZ1cT8yW3nH6jF5dG0aE2uI9oL7kY",
        "_flash": [["Your profile was saved. Welcome back, Ada! 3 new messages.", "success"]],
    });
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

/// The payload of a server-side session's cookie: `{"_sid": "<32 characters>"}`.
pub fn id_session() -> Map<String, Value> {
    let mut map = Map::new();
    map.insert(
        "_sid".to_owned(),
        Value::String("ZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXp7".to_owned()),
    );
    map
}
