//! What the fuzz targets share: the configs, JSON objects built from fuzz input, changes to
//! cookie values (bounded in length), the instant seeds are made at, the router the request
//! targets drive, and other frameworks' cookies signed around fuzz input.

pub mod app;
pub mod legacy;

use std::sync::LazyLock;

use arbitrary::Arbitrary;
use axum_session_store::cookie::MAX_COOKIE_VALUE_LEN;
use axum_session_store::SessionConfig;
use serde_json::{Map, Number, Value};
use time::OffsetDateTime;

/// The secret of every config here (and of the seed cookies in `corpus/`).
pub const SECRET: &[u8; 32] = b"fuzzing secret, thirty-two bytes";

/// A former secret, still accepted as a fallback key.
pub const OLD_SECRET: &[u8; 32] = b"former fuzzing secret, 32 bytes!";

/// The config under test: `SECRET`, with `OLD_SECRET` as a fallback key.
pub static CONFIG: LazyLock<SessionConfig> = LazyLock::new(|| {
    SessionConfig::builder()
        .secret_key(SECRET)
        .fallback_keys([OLD_SECRET])
        .session_backend::<app::Cart>(axum_session_store::backend::Storage::private_cookie())
        .build()
        .expect("a valid config")
});

/// The config of before the rotation: values it makes verify with `CONFIG`'s fallback key.
pub static OLD_CONFIG: LazyLock<SessionConfig> = LazyLock::new(|| {
    SessionConfig::builder()
        .secret_key(OLD_SECRET)
        .build()
        .expect("a valid config")
});

/// When the seed values in `corpus/` were signed and sealed (2025-06-15T15:06:40Z); the
/// `verify` target checks them as of this instant, so they stay valid.
pub const SEED_TIME: i64 = 1_750_000_000;

/// Earliest and latest Unix time an `OffsetDateTime` holds (years -9999 and 9999).
pub const MIN_TIMESTAMP: i64 = -377_705_116_800;
/// See [`MIN_TIMESTAMP`].
pub const MAX_TIMESTAMP: i64 = 253_402_300_799;

/// Any `i64` folded into the range `OffsetDateTime` holds.
pub fn instant(seconds: i64) -> OffsetDateTime {
    let span = MAX_TIMESTAMP - MIN_TIMESTAMP + 1;
    let folded = MIN_TIMESTAMP
        + (i128::from(seconds) - i128::from(MIN_TIMESTAMP)).rem_euclid(i128::from(span)) as i64;
    OffsetDateTime::from_unix_timestamp(folded).expect("in range")
}

/// Any `i64` folded into `0..=MAX_TIMESTAMP`: the signed format writes the timestamp as
/// unsigned digits, so a value signed before 1970 never verifies (reported; not fuzzed).
pub fn instant_after_1970(seconds: i64) -> OffsetDateTime {
    let folded = seconds.rem_euclid(MAX_TIMESTAMP + 1);
    OffsetDateTime::from_unix_timestamp(folded).expect("in range")
}

/// How deep [`Json`] values nest at most. serde_json refuses to parse more than 128 levels, so
/// deeper data signs and seals but never reads back (reported; not fuzzed).
pub const MAX_DEPTH: usize = 32;

/// A JSON value from fuzz input.
#[derive(Arbitrary, Debug)]
pub enum Json {
    /// `null`
    Null,
    /// `true` or `false`
    Bool(bool),
    /// A negative or positive integer.
    Int(i64),
    /// An unsigned integer (up to `u64::MAX`).
    UInt(u64),
    /// A float; not finite ones become `null`, as serde_json writes them.
    Float(f64),
    /// A string.
    Str(String),
    /// An array.
    Array(Vec<Json>),
    /// An object (later keys win).
    Object(Vec<(String, Json)>),
}

impl Json {
    /// The `serde_json` value, cut off at [`MAX_DEPTH`] levels.
    pub fn to_value(&self, depth: usize) -> Value {
        match self {
            Self::Null => Value::Null,
            Self::Bool(b) => Value::Bool(*b),
            Self::Int(n) => Value::from(*n),
            Self::UInt(n) => Value::from(*n),
            Self::Float(x) => Number::from_f64(*x).map_or(Value::Null, Value::Number),
            Self::Str(s) => Value::String(s.clone()),
            Self::Array(_) | Self::Object(_) if depth >= MAX_DEPTH => Value::Null,
            Self::Array(items) => {
                Value::Array(items.iter().map(|i| i.to_value(depth + 1)).collect())
            }
            Self::Object(fields) => Value::Object(to_map(fields, depth + 1)),
        }
    }
}

fn to_map(fields: &[(String, Json)], depth: usize) -> Map<String, Value> {
    fields
        .iter()
        .map(|(key, value)| (key.clone(), value.to_value(depth)))
        .collect()
}

/// A session's data from fuzz input: a JSON object.
#[derive(Arbitrary, Debug)]
pub struct Object(pub Vec<(String, Json)>);

impl Object {
    /// The `serde_json` map.
    pub fn to_map(&self) -> Map<String, Value> {
        to_map(&self.0, 1)
    }
}

/// `data` as serde_json reads it back from its own output. Without serde_json's
/// `float_roundtrip` feature (which the crate does not enable) a float may come back one ULP
/// off (reported): the codecs can only promise what serde_json gives back.
pub fn through_json(data: &Map<String, Value>) -> Map<String, Value> {
    serde_json::from_slice(&serde_json::to_vec(data).expect("serializable"))
        .expect("serde_json reads its own output")
}

/// The longest a cookie value grows under [`Mutation`]s: four times the longest value the
/// codecs decode ([`MAX_COOKIE_VALUE_LEN`]), enough to cross that limit, never more. Without
/// it, each `Duplicate` may double the value: 69 of them ran libFuzzer out of memory.
pub const MAX_MUTATED_LEN: usize = 4 * MAX_COOKIE_VALUE_LEN;

/// One change to the bytes of a cookie value. Positions wrap around the length; a change that
/// adds bytes adds at most what keeps the value within [`MAX_MUTATED_LEN`].
#[derive(Arbitrary, Clone, Debug)]
pub enum Mutation {
    /// One bit flipped.
    FlipBit { at: usize, bit: u8 },
    /// One byte replaced.
    Replace { at: usize, byte: u8 },
    /// One byte inserted (at the end too).
    Insert { at: usize, byte: u8 },
    /// One byte deleted.
    Delete { at: usize },
    /// Cut to a shorter length.
    Truncate { len: usize },
    /// Bytes appended.
    Append(Vec<u8>),
    /// Two bytes swapped.
    Swap { a: usize, b: usize },
    /// A slice copied to another place (as a splice of the value with itself).
    Duplicate { from: usize, len: usize, to: usize },
}

impl Mutation {
    /// Applies the change to `bytes`, which stay within [`MAX_MUTATED_LEN`] when they were.
    pub fn apply(&self, bytes: &mut Vec<u8>) {
        let len = bytes.len();
        let room = MAX_MUTATED_LEN.saturating_sub(len);
        match *self {
            Self::FlipBit { at, bit } if len > 0 => bytes[at % len] ^= 1 << (bit % 8),
            Self::Replace { at, byte } if len > 0 => bytes[at % len] = byte,
            Self::Insert { at, byte } if room > 0 => bytes.insert(at % (len + 1), byte),
            Self::Delete { at } if len > 0 => {
                bytes.remove(at % len);
            }
            Self::Truncate { len: to } if len > 0 => bytes.truncate(to % len),
            Self::Append(ref tail) => bytes.extend_from_slice(&tail[..tail.len().min(room)]),
            Self::Swap { a, b } if len > 0 => bytes.swap(a % len, b % len),
            Self::Duplicate { from, len: n, to } if len > 0 => {
                let from = from % len;
                let n = (n % (len - from + 1)).min(room);
                let copy = bytes[from..from + n].to_vec();
                let to = to % (len + 1);
                bytes.splice(to..to, copy);
            }
            _ => {}
        }
    }
}

/// `value` (cut to [`MAX_MUTATED_LEN`]) after every change in `mutations`, as a string (bytes that are not UTF-8 are
/// replaced: a cookie value reaches the codecs as `&str`).
pub fn mutate(value: &str, mutations: &[Mutation]) -> String {
    let mut bytes = value.as_bytes().to_vec();
    bytes.truncate(MAX_MUTATED_LEN);
    for mutation in mutations {
        mutation.apply(&mut bytes);
    }
    String::from_utf8_lossy(&bytes).into_owned()
}
