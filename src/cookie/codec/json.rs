//! JSON bytes, as both codecs take them.

use serde::Serialize;

/// A typical session's JSON fits: most encodings never grow their buffer.
const JSON_CAPACITY: usize = 256;

/// Serializes `value` as JSON bytes.
pub(crate) fn to_json<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, serde_json::Error> {
    let mut json = Vec::with_capacity(JSON_CAPACITY);
    serde_json::to_writer(&mut json, value)?;
    Ok(json)
}
