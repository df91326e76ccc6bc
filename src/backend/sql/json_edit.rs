//! The JSON edit expression SQLite and MySQL use for `apply`: [`Changes`] as nested
//! `json_remove`/`json_set` calls over the `data` column, every key and value bound.

use std::fmt::Write;

use sqlx::query::Query;
use sqlx::{Database, Encode, Type};

use crate::backend::changes::Changes;
use crate::backend::error::BackendError;

/// The most key/value pairs passed to one `json_set` call: SQLite allows 127 arguments
/// per function call.
const MAX_PAIRS_PER_SET: usize = 63;

/// How a database spells the parts of [`JsonEdit`] that differ.
#[derive(Debug)]
pub(super) struct JsonDialect {
    /// The expression turning a bound JSON text into a JSON value, with one `?`.
    pub(super) value: &'static str,
    /// The most paths passed to one `json_remove` call; more make nested calls.
    pub(super) paths_per_remove: usize,
    /// Whether a path can address a key containing U+0000. SQLite's cannot: it compares
    /// a decoded `\u0000` as the end of the key, so `"a\u0000b"` would match `"a"`.
    pub(super) nul_in_keys: bool,
    /// The database's name, for errors.
    pub(super) database: &'static str,
}

impl JsonDialect {
    fn path(&self, key: &str) -> Result<String, BackendError> {
        if !self.nul_in_keys && key.contains('\0') {
            return Err(BackendError::msg(format!(
                "{}: a session key containing the character U+0000 cannot be changed \
                 (its JSON paths cannot address such keys)",
                self.database
            )));
        }
        Ok(json_path(key))
    }
}

/// [`Changes`] as one SQL expression over the `data` column, for SQLite's and MySQL's
/// `json_remove`/`json_set` (function names are case-insensitive in both), and the values
/// to bind to its `?` placeholders, in order.
///
/// The expression is `json_set(json_remove(CASE WHEN ? THEN '{}' ELSE data END, paths..),
/// path, value, ..)`, split into nested calls when there are many keys (or, for
/// `json_remove`, as the dialect requires). Its text depends only on how many keys are
/// removed and set, so prepared statements are reused; every key and value is a bound
/// parameter.
#[derive(Debug)]
pub(super) struct JsonEdit {
    /// The expression computing the new `data`.
    pub(super) sql: String,
    cleared: bool,
    removed: Vec<String>,
    set: Vec<(String, String)>,
}

impl JsonEdit {
    /// The edit for `changes`, in `dialect`.
    pub(super) fn new(changes: &Changes, dialect: &JsonDialect) -> Result<Self, BackendError> {
        let set = changes
            .set
            .iter()
            .map(|(key, value)| {
                let json = serde_json::to_string(value).map_err(|e| {
                    BackendError::new("could not encode a session value as JSON", e)
                })?;
                Ok((dialect.path(key)?, json))
            })
            .collect::<Result<Vec<_>, BackendError>>()?;
        let removed = changes
            .removed
            .iter()
            .map(|key| dialect.path(key))
            .collect::<Result<Vec<_>, BackendError>>()?;

        let mut sql = String::from("CASE WHEN ? THEN '{}' ELSE data END");
        for chunk in removed.chunks(dialect.paths_per_remove.max(1)) {
            sql = format!("json_remove({sql}{})", ", ?".repeat(chunk.len()));
        }
        let pair = format!(", ?, {}", dialect.value);
        for chunk in set.chunks(MAX_PAIRS_PER_SET) {
            sql = format!("json_set({sql}{})", pair.repeat(chunk.len()));
        }
        Ok(Self {
            sql,
            cleared: changes.cleared,
            removed,
            set,
        })
    }

    /// Binds the expression's parameters, in the order its placeholders appear.
    pub(super) fn bind<'q, DB>(
        self,
        mut query: Query<'q, DB, <DB as Database>::Arguments<'q>>,
    ) -> Query<'q, DB, <DB as Database>::Arguments<'q>>
    where
        DB: Database,
        bool: Encode<'q, DB> + Type<DB>,
        String: Encode<'q, DB> + Type<DB>,
    {
        query = query.bind(self.cleared);
        for path in self.removed {
            query = query.bind(path);
        }
        for (path, value) in self.set {
            query = query.bind(path).bind(value);
        }
        query
    }
}

/// The JSON path of the top-level member `key`, correct for any key.
///
/// The key is written as a quoted member name in which every character but ASCII letters,
/// digits and `_` is a `\uXXXX` escape (UTF-16 units, so astral characters become
/// surrogate pairs). Plain JSON string escaping is not enough: SQLite (3.45+) ends a
/// quoted name at the first `"`, even after a backslash, but decodes `\u0022`; MariaDB
/// rejects quoted names starting with `-` but accepts `\u002d`. MySQL decodes the quoted
/// name as a JSON string, so the escapes are right there too.
pub(super) fn json_path(key: &str) -> String {
    let mut path = String::with_capacity(key.len() + 5);
    path.push_str("$.\"");
    for c in key.chars() {
        if c.is_ascii_alphanumeric() || c == '_' {
            path.push(c);
        } else {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                // Writing to a String cannot fail.
                let _ = write!(path, "\\u{unit:04x}");
            }
        }
    }
    path.push('"');
    path
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const DIALECT: JsonDialect = JsonDialect {
        value: "json(?)",
        paths_per_remove: 126,
        nul_in_keys: false,
        database: "SQLite",
    };

    #[test]
    fn paths_escape_everything_but_word_characters() {
        assert_eq!(json_path("a_1"), r#"$."a_1""#);
        assert_eq!(json_path(""), r#"$."""#);
        assert_eq!(json_path(r#"a"b\c"#), r#"$."a\u0022b\u005cc""#);
        assert_eq!(json_path("-1"), r#"$."\u002d1""#);
        assert_eq!(json_path("ü🔑"), r#"$."\u00fc\ud83d\udd11""#);
    }

    #[test]
    fn expression_shape_depends_only_on_counts() {
        let changes = Changes {
            cleared: true,
            removed: vec!["a".into()],
            set: vec![("b".into(), json!(true)), ("c".into(), json!(null))],
        };
        let edit = JsonEdit::new(&changes, &DIALECT).unwrap();
        assert_eq!(
            edit.sql,
            "json_set(json_remove(CASE WHEN ? THEN '{}' ELSE data END, ?), \
             ?, json(?), ?, json(?))"
        );
        assert_eq!(edit.set[0].1, "true");
        let empty = JsonEdit::new(&Changes::default(), &DIALECT).unwrap();
        assert_eq!(empty.sql, "CASE WHEN ? THEN '{}' ELSE data END");
    }

    #[test]
    fn nul_in_keys_is_refused_where_paths_cannot_address_it() {
        let changes = Changes {
            removed: vec!["a\0b".into()],
            ..Changes::default()
        };
        let error = JsonEdit::new(&changes, &DIALECT).unwrap_err().to_string();
        assert!(
            error.starts_with("SQLite: a session key containing"),
            "{error}"
        );
        let set = Changes {
            set: vec![("\0".into(), json!(1))],
            ..Changes::default()
        };
        assert!(JsonEdit::new(&set, &DIALECT).is_err());
        let anywhere = JsonDialect {
            nul_in_keys: true,
            ..DIALECT
        };
        assert!(JsonEdit::new(&set, &anywhere).is_ok());
    }

    #[test]
    fn many_keys_are_split_into_nested_calls() {
        let changes = Changes {
            cleared: false,
            removed: (0..130).map(|i| format!("r{i}")).collect(),
            set: (0..70).map(|i| (format!("s{i}"), json!(i))).collect(),
        };
        let edit = JsonEdit::new(&changes, &DIALECT).unwrap();
        assert_eq!(edit.sql.matches("json_remove(").count(), 2);
        assert_eq!(edit.sql.matches("json_set(").count(), 2);
        assert_eq!(edit.sql.matches('?').count(), 1 + 130 + 2 * 70);
        let one_by_one = JsonDialect {
            value: "json(?)",
            paths_per_remove: 1,
            nul_in_keys: true,
            database: "MySQL",
        };
        let edit = JsonEdit::new(&changes, &one_by_one).unwrap();
        assert_eq!(edit.sql.matches("json_remove(").count(), 130);
    }
}
