//! How many bytes a value's compact JSON text takes, counted without building the text: what
//! the record size limits weigh.

use std::io;

use serde_json::Value;

/// The length of `value`'s compact JSON text.
pub(crate) fn json_len(value: &Value) -> usize {
    struct Count(usize);
    impl io::Write for Count {
        fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
            self.0 += bytes.len();
            Ok(bytes.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    // Writing a `Value` into a counter cannot fail.
    let _ = serde_json::to_writer(&mut count, value);
    count.0
}

/// The length of one `"key":value` entry of a JSON object, the key assumed to need no escaping
/// beyond its quotes.
pub(crate) fn entry_len(key: &str, value: &Value) -> usize {
    key.len() + 3 + json_len(value)
}

/// The length of the JSON object text of `entries` (`{"key":value,...}`), keys assumed to need
/// no escaping beyond their quotes.
pub(crate) fn object_len<'a>(entries: impl IntoIterator<Item = (&'a str, &'a Value)>) -> usize {
    let (count, len) = entries
        .into_iter()
        .fold((0usize, 0usize), |(count, len), (key, value)| {
            (count + 1, len + entry_len(key, value))
        });
    // Braces, and a comma between entries.
    2 + len + count.saturating_sub(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn lengths_match_the_text() {
        for value in [
            json!(null),
            json!("é\"x"),
            json!([1, {"a": [true]}]),
            json!({}),
        ] {
            assert_eq!(json_len(&value), value.to_string().len(), "{value}");
        }
        let map = json!({"a": 1, "bc": [1, 2], "d": {"e": "f"}});
        let map = map.as_object().unwrap();
        let entries = || map.iter().map(|(key, value)| (key.as_str(), value));
        assert_eq!(
            object_len(entries()),
            serde_json::to_string(map).unwrap().len()
        );
        assert_eq!(object_len(entries().take(0)), 2);
    }
}
