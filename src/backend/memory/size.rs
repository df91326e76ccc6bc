//! What a record weighs against the memory backend's byte limit: its keys, its values' JSON
//! text, and a fixed overhead; and what it weighs once changes apply, from the keys they touch.

use serde_json::Value;

use crate::backend::changes::Changes;
use crate::backend::session_backend::Record;
use crate::json_size::json_len;

/// What each record costs besides its keys and values: its id, expiry and map.
pub(super) const RECORD_OVERHEAD: usize = 128;

/// What a record weighs against [`MemoryBackend::max_bytes`]: its keys, its values' JSON text,
/// and a fixed overhead.
pub(super) fn record_size(record: &Record) -> usize {
    RECORD_OVERHEAD
        + record
            .iter()
            .map(|(key, value)| key.len() + json_len(value))
            .sum::<usize>()
}

/// What a record of `size` bytes weighs once `changes` apply to it, from the sizes of the keys
/// they touch only (the record itself is not walked).
pub(super) fn size_with(record: &Record, size: usize, changes: &Changes) -> usize {
    let weight = |key: &str, value: &Value| key.len() + json_len(value);
    let mut size = if changes.cleared {
        RECORD_OVERHEAD
    } else {
        let removed: usize = changes
            .removed
            .iter()
            .filter_map(|key| record.get(key).map(|value| weight(key, value)))
            .sum();
        size.saturating_sub(removed)
    };
    for (key, value) in &changes.set {
        if let Some(old) = record.get(key).filter(|_| !changes.cleared) {
            size = size.saturating_sub(weight(key, old));
        }
        size += weight(key, value);
    }
    size
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::session_backend::record;
    use serde_json::json;

    #[test]
    fn sizes_after_changes_match_the_changed_record() {
        let before = record(json!({"a": 1, "bb": "two", "c": [1, 2]}));
        for changes in [
            Changes::default(),
            Changes {
                removed: vec!["a".into(), "missing".into()],
                set: vec![
                    ("bb".into(), json!("longer value")),
                    ("d".into(), json!(null)),
                ],
                ..Changes::default()
            },
            Changes {
                cleared: true,
                removed: vec!["c".into()],
                set: vec![("a".into(), json!(2))],
            },
        ] {
            let mut after = before.clone();
            changes.apply_to(&mut after);
            assert_eq!(
                size_with(&before, record_size(&before), &changes),
                record_size(&after),
                "{changes:?}"
            );
        }
    }

    #[test]
    fn sizes_count_keys_and_json_text() {
        assert_eq!(json_len(&json!({"a": [1, "é"]})), r#"{"a":[1,"é"]}"#.len());
        assert_eq!(
            record_size(&record(json!({"ab": "cd"}))),
            RECORD_OVERHEAD + 2 + 4
        );
    }
}
