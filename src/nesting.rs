//! The nesting limit of session values: serde_json refuses to read JSON nested deeper than 128
//! levels, so a session holding such a value could be written but never read back. Saves refuse
//! it instead, with an error that names the key.

use serde_json::Value;

/// The deepest a value may nest (arrays and objects), leaving room below serde_json's limit of
/// 128 for the session object and the flash list around it.
pub const MAX_VALUE_DEPTH: usize = 100;

/// The first key whose value nests deeper than [`MAX_VALUE_DEPTH`], if any.
pub(crate) fn too_deep<'a>(
    values: impl IntoIterator<Item = (&'a String, &'a Value)>,
) -> Option<&'a str> {
    values
        .into_iter()
        .find(|(_, value)| depth(value) > MAX_VALUE_DEPTH)
        .map(|(key, _)| key.as_str())
}

/// How deep `value` nests: 0 for a scalar, 1 for a flat array or object. Iterative, so no value
/// can exhaust the stack here.
fn depth(value: &Value) -> usize {
    let mut deepest = 0;
    let mut pending = vec![(value, 0)];
    while let Some((value, level)) = pending.pop() {
        let children: Box<dyn Iterator<Item = &Value>> = match value {
            Value::Array(items) => Box::new(items.iter()),
            Value::Object(map) => Box::new(map.values()),
            _ => continue,
        };
        deepest = deepest.max(level + 1);
        pending.extend(children.map(|child| (child, level + 1)));
    }
    deepest
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Map};

    fn nested(levels: usize) -> Value {
        (0..levels).fold(json!(1), |inner, _| json!([inner]))
    }

    #[test]
    fn depth_counts_levels() {
        assert_eq!(depth(&json!(1)), 0);
        assert_eq!(depth(&json!([1, {"a": [2]}])), 3);
        assert_eq!(depth(&nested(MAX_VALUE_DEPTH)), MAX_VALUE_DEPTH);
    }

    #[test]
    fn the_limit_keeps_whole_sessions_readable() {
        let mut values = Map::new();
        values.insert("ok".into(), nested(MAX_VALUE_DEPTH));
        assert_eq!(too_deep(&values), None);
        // A session at the limit, inside a flash-like list, still parses.
        let text =
            serde_json::to_string(&json!({"_flash": [[values["ok"].clone(), null]]})).unwrap();
        assert!(serde_json::from_str::<Value>(&text).is_ok());
        values.insert("deep".into(), nested(MAX_VALUE_DEPTH + 1));
        assert_eq!(too_deep(&values), Some("deep"));
    }
}
