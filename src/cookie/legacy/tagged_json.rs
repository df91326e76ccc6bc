//! Flask's tagged JSON (`flask.json.tag.TaggedJSONSerializer`): the values JSON cannot hold are
//! written as one-key objects whose key is a tag. Reading them back as plain JSON:
//!
//! | tag | Python value | becomes |
//! | --- | --- | --- |
//! | `" t"` | tuple | an array |
//! | `" di"` | a dict whose only key looks like a tag | that dict (the key without its `__`) |
//! | `" b"` | bytes | their base64 text, as Flask stored it |
//! | `" m"` | `Markup` | its HTML text |
//! | `" u"` | `UUID` | its hyphenated text |
//! | `" d"` | `datetime` | its HTTP-date text, as Flask stored it |

use serde_json::{Map, Value};

/// `value` with every tag replaced by plain JSON, innermost first (as Flask's `object_hook`
/// does).
pub(crate) fn untag(value: Value) -> Value {
    match value {
        Value::Array(items) => Value::Array(items.into_iter().map(untag).collect()),
        Value::Object(map) => untag_object(map.into_iter().map(|(k, v)| (k, untag(v))).collect()),
        other => other,
    }
}

fn untag_object(mut map: Map<String, Value>) -> Value {
    if map.len() != 1 {
        return Value::Object(map);
    }
    let Some(tag) = map.keys().next().cloned() else {
        return Value::Object(map);
    };
    let untagged = match (tag.as_str(), map.get(&tag)) {
        (" t" | " b" | " m" | " d", Some(inner)) => inner.clone(),
        (" u", Some(Value::String(hex))) => Value::String(hyphenated(hex)),
        (" di", Some(Value::Object(inner))) if inner.len() == 1 => {
            let mut inner = inner.clone();
            inner = inner
                .into_iter()
                .map(|(key, value)| (without_suffix(&key), value))
                .collect();
            Value::Object(inner)
        }
        _ => return Value::Object(map),
    };
    map.clear();
    untagged
}

/// Python's `key[:-2]`: the key without its last two characters (the `__` Flask appended).
fn without_suffix(key: &str) -> String {
    let end = key.char_indices().rev().nth(1).map_or(0, |(at, _)| at);
    key[..end].to_owned()
}

/// `UUID(hex)` as Python prints it: 8-4-4-4-12; other text is kept as it is.
fn hyphenated(hex: &str) -> String {
    if hex.len() != 32 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return hex.to_owned();
    }
    let hex = hex.to_ascii_lowercase();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn tags_become_plain_json_innermost_first() {
        let tagged = json!({
            "pair": {" t": [1, {" t": ["a", "b"]}]},
            "raw": {" b": "aGk="},
            "html": {" m": "<b>hi</b>"},
            "id": {" u": "12345678123456781234567812345678"},
            "when": {" d": "Wed, 21 Oct 2015 07:28:00 GMT"},
            "looks_tagged": {" di": {" t__": "kept"}},
            "two_keys": {" t": 1, "x": 2},
            "unknown": {" zz": 1},
        });
        assert_eq!(
            untag(tagged),
            json!({
                "pair": [1, ["a", "b"]],
                "raw": "aGk=",
                "html": "<b>hi</b>",
                "id": "12345678-1234-5678-1234-567812345678",
                "when": "Wed, 21 Oct 2015 07:28:00 GMT",
                "looks_tagged": {" t": "kept"},
                "two_keys": {" t": 1, "x": 2},
                "unknown": {" zz": 1},
            })
        );
    }

    #[test]
    fn short_and_odd_keys_never_panic() {
        assert_eq!(without_suffix("é"), "");
        assert_eq!(without_suffix("aé__"), "aé");
        assert_eq!(without_suffix("ab"), "");
        assert_eq!(untag(json!({" di": {"x": 1}})), json!({"": 1}));
        assert_eq!(hyphenated("zz"), "zz");
    }
}
