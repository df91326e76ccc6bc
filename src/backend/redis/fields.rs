//! How a session record lies in a Redis hash: a field `d:<key>` per session key, holding the
//! value's JSON text, and the script arguments that write them.

use time::{Duration, OffsetDateTime};

use crate::backend::changes::Changes;
use crate::backend::error::BackendError;
use crate::backend::session_backend::Record;

/// The prefix of the hash fields that hold the session's keys. (The other field, `m`, written
/// by the create script, marks the record as existing, so that an empty session is still a key;
/// it holds the Unix time, in seconds, the record was created.)
const DATA_PREFIX: &str = "d:";

/// The longest TTL given to Redis: about 100 years, far below what `PEXPIRE` rejects.
const MAX_TTL_MS: i64 = 100 * 365 * 24 * 3600 * 1000;

/// The TTL in whole milliseconds for `PEXPIRE`: 0 for a TTL of zero or less (Redis deletes
/// the key at once, as the record is expired), at least 1 for any positive TTL, and at most
/// about 100 years.
pub(super) fn ttl_millis(ttl: Duration) -> i64 {
    if !ttl.is_positive() {
        return 0;
    }
    i64::try_from(ttl.whole_milliseconds())
        .unwrap_or(MAX_TTL_MS)
        .clamp(1, MAX_TTL_MS)
}

/// Appends the field `d:<key>` and the value's compact JSON text.
fn push_field(
    args: &mut Vec<Vec<u8>>,
    key: &str,
    value: &serde_json::Value,
) -> Result<(), BackendError> {
    let json = serde_json::to_vec(value).map_err(|e| {
        BackendError::new(
            format!("encoding the value of session key {key:?} as JSON"),
            e,
        )
    })?;
    args.push(format!("{DATA_PREFIX}{key}").into_bytes());
    args.push(json);
    Ok(())
}

/// The two arguments every script that writes a record starts with: the TTL and the prefix
/// of the user index keys (empty: none), with room for `more`.
fn script_args(ttl: Duration, index_prefix: &str, more: usize) -> Vec<Vec<u8>> {
    let mut args = Vec::with_capacity(2 + more);
    args.push(ttl_millis(ttl).to_string().into_bytes());
    args.push(index_prefix.as_bytes().to_vec());
    args
}

/// The arguments of the `CREATE` script: the marker for a record created now, then
/// `fields`, flat field, value pairs.
pub(super) fn create_args(
    ttl: Duration,
    index_prefix: &str,
    fields: impl ExactSizeIterator<Item = Vec<u8>>,
) -> Vec<Vec<u8>> {
    let mut args = script_args(ttl, index_prefix, 1 + fields.len());
    args.push(now_marker());
    args.extend(fields);
    args
}

/// The arguments of the `DELETE` script (which takes no TTL: it is sent as 0).
pub(super) fn delete_args(index_prefix: &str) -> Vec<Vec<u8>> {
    script_args(Duration::ZERO, index_prefix, 0)
}

/// The fields of `record`, flat: `d:<key>` and the value's JSON text, for [`create_args`].
pub(super) fn record_fields(record: &Record) -> Result<Vec<Vec<u8>>, BackendError> {
    let mut fields = Vec::with_capacity(2 * record.len());
    for (key, value) in record {
        push_field(&mut fields, key, value)?;
    }
    Ok(fields)
}

/// The arguments of the `APPLY`, `MOVE` and `TAKE` scripts for `changes`.
pub(super) fn change_args(
    changes: &Changes,
    ttl: Duration,
    index_prefix: &str,
) -> Result<Vec<Vec<u8>>, BackendError> {
    let more = 2 + changes.removed.len() + 2 * changes.set.len();
    let mut args = script_args(ttl, index_prefix, more);
    args.push(if changes.cleared { b"1" } else { b"0" }.to_vec());
    args.push(changes.removed.len().to_string().into_bytes());
    for key in &changes.removed {
        args.push(format!("{DATA_PREFIX}{key}").into_bytes());
    }
    for (key, value) in &changes.set {
        push_field(&mut args, key, value)?;
    }
    Ok(args)
}

/// The marker field's value for a record created now: the Unix time in seconds.
fn now_marker() -> Vec<u8> {
    OffsetDateTime::now_utc()
        .unix_timestamp()
        .to_string()
        .into_bytes()
}

/// The record from a hash's fields: the `d:` fields, parsed as JSON; other fields are ignored.
pub(super) fn parse_record(fields: Vec<(Vec<u8>, Vec<u8>)>) -> Result<Record, BackendError> {
    let mut record = Record::new();
    for (field, value) in fields {
        let Some(key) = field.strip_prefix(DATA_PREFIX.as_bytes()) else {
            continue;
        };
        let key = String::from_utf8(key.to_vec()).map_err(|e| {
            BackendError::new(
                "a field name of the session record in Redis is not UTF-8",
                e,
            )
        })?;
        let value = serde_json::from_slice(&value).map_err(|e| {
            BackendError::new(
                format!("the value of session key {key:?} in Redis is not valid JSON"),
                e,
            )
        })?;
        record.insert(key, value);
    }
    Ok(record)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ttl_is_clamped_to_what_pexpire_accepts() {
        assert_eq!(ttl_millis(Duration::ZERO), 0);
        assert_eq!(ttl_millis(Duration::seconds(-5)), 0);
        assert_eq!(ttl_millis(Duration::microseconds(500)), 1);
        assert_eq!(ttl_millis(Duration::seconds(90)), 90_000);
        assert_eq!(ttl_millis(Duration::MAX), MAX_TTL_MS);
    }

    #[test]
    fn record_reads_data_fields_and_skips_the_marker() {
        let fields = vec![
            (b"m".to_vec(), b"1700000000".to_vec()),
            (b"d:a".to_vec(), b"[1,{\"b\":null}]".to_vec()),
            (b"d:d:x".to_vec(), b"\"y\"".to_vec()),
        ];
        assert_eq!(
            serde_json::Value::Object(parse_record(fields).unwrap()),
            json!({"a": [1, {"b": null}], "d:x": "y"})
        );
    }

    #[test]
    fn corrupt_field_names_the_key_not_the_value() {
        let fields = vec![(b"d:cart".to_vec(), b"secret-not-json".to_vec())];
        let error = parse_record(fields).unwrap_err();
        let text = error.to_string();
        assert!(text.contains("\"cart\""), "{text}");
        assert!(!text.contains("secret"), "{text}");
    }
}
