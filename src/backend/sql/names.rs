//! The names the SQL backends put into SQL text: the table's (validated), its index's, and the
//! key of the lock `migrate` takes.

use crate::backend::error::BackendError;

/// The table the backends use unless told otherwise.
const DEFAULT_TABLE: &str = "sessions";

/// The suffixes of the index on `expires_at`'s name, for a short and a long table name.
pub(super) const EXPIRES_INDEX: (&str, &str) = ("_expires_idx", "_exp");

/// The suffixes of the index on `user_id`'s name, for a short and a long table name.
pub(super) const USER_INDEX: (&str, &str) = ("_user_idx", "_usr");

/// The longest table name accepted: PostgreSQL's identifier limit.
const MAX_TABLE_NAME_LEN: usize = 63;

/// A session table's name, validated: `[A-Za-z_][A-Za-z0-9_]{0,62}`, optionally after a schema
/// of the same shape and a dot (`auth.sessions`) where the database has schemas.
///
/// The backends put the name into SQL text, quoted (so reserved words work too); it can never
/// contain a quote, which is what makes that safe.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct TableName {
    schema: Option<String>,
    table: String,
}

impl TableName {
    /// `sessions`, the table the backends use unless told otherwise.
    pub(super) fn default_table() -> Self {
        Self {
            schema: None,
            table: DEFAULT_TABLE.to_owned(),
        }
    }

    /// `text` as a table name; `schemas` when the database has schemas (PostgreSQL).
    pub(super) fn parse(text: &str, schemas: bool) -> Result<Self, BackendError> {
        let (schema, table) = match text.split_once('.') {
            Some((schema, table)) if schemas => (Some(schema), table),
            _ => (None, text),
        };
        if schema.is_some_and(|schema| !is_identifier(schema)) || !is_identifier(table) {
            let shape = if schemas {
                " (or schema.table, each so)"
            } else {
                ""
            };
            return Err(BackendError::msg(format!(
                "invalid session table name {text:?}: use 1 to {MAX_TABLE_NAME_LEN} ASCII \
                 letters, digits and underscores, not starting with a digit{shape}"
            )));
        }
        Ok(Self {
            schema: schema.map(str::to_owned),
            table: table.to_owned(),
        })
    }

    /// The name in SQL text, each part between `quote`s.
    pub(super) fn quoted(&self, quote: char) -> String {
        match &self.schema {
            Some(schema) => format!("{quote}{schema}{quote}.{quote}{}{quote}", self.table),
            None => format!("{quote}{}{quote}", self.table),
        }
    }

    /// The name of an index of the table (in its schema): the table's name and `suffix`, or
    /// for a long name its start, its hash and `short`; unique per table name and at most 63
    /// characters, so PostgreSQL never truncates it into another table's index name. (The
    /// names of the index on `expires_at` are those earlier versions gave it.)
    pub(super) fn index(&self, (suffix, short): (&str, &str)) -> String {
        let table = &self.table;
        if table.len() + suffix.len() <= MAX_TABLE_NAME_LEN {
            format!("{table}{suffix}")
        } else {
            // Table names are ASCII, so any byte index is a char boundary; 34 + 1 + 16 + a
            // short suffix of up to 12 characters fits.
            format!("{}_{:016x}{short}", &table[..34], fnv1a(table.as_bytes()))
        }
    }

    /// The table's own name, without its schema.
    #[cfg(any(feature = "sqlite", feature = "mysql"))]
    pub(super) fn table(&self) -> &str {
        &self.table
    }

    /// The name as it was given: for errors and the migration lock.
    pub(super) fn display(&self) -> String {
        match &self.schema {
            Some(schema) => format!("{schema}.{}", self.table),
            None => self.table.clone(),
        }
    }
}

/// Whether `part` is a plain identifier every database accepts unchanged.
fn is_identifier(part: &str) -> bool {
    let mut bytes = part.bytes();
    part.len() <= MAX_TABLE_NAME_LEN
        && bytes
            .next()
            .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// A stable 64-bit hash (FNV-1a): the same in every process and Rust version.
pub(super) fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_names() {
        for good in ["sessions", "_x", "S_1", &"a".repeat(63)] {
            let name = TableName::parse(good, false).unwrap();
            assert_eq!(name.display(), good);
            assert_eq!(name.quoted('`'), format!("`{good}`"));
        }
        for bad in [
            "",
            "1a",
            "a-b",
            "a b",
            "a;b",
            "a\"b",
            "ü",
            &"a".repeat(64),
            "auth.sessions",
        ] {
            let error = TableName::parse(bad, false).unwrap_err().to_string();
            assert!(
                error.contains("ASCII letters, digits and underscores"),
                "{error}"
            );
        }
    }

    #[test]
    fn schema_qualified_names_where_there_are_schemas() {
        let name = TableName::parse("auth.sessions", true).unwrap();
        assert_eq!(name.quoted('"'), r#""auth"."sessions""#);
        assert_eq!(name.display(), "auth.sessions");
        assert_eq!(name.index(EXPIRES_INDEX), "sessions_expires_idx");
        for bad in ["auth.", ".sessions", "a.b.c", "a-b.c", "auth.se\"ss"] {
            assert!(TableName::parse(bad, true).is_err(), "{bad}");
        }
    }

    #[test]
    fn index_names_fit_and_differ() {
        let index = |table: &str, which| TableName::parse(table, false).unwrap().index(which);
        assert_eq!(index("sessions", EXPIRES_INDEX), "sessions_expires_idx");
        assert_eq!(index("sessions", USER_INDEX), "sessions_user_idx");
        let long_a = format!("{}a", "x".repeat(62));
        let long_b = format!("{}b", "x".repeat(62));
        for which in [EXPIRES_INDEX, USER_INDEX] {
            assert!(index(&long_a, which).len() <= 63);
            assert_ne!(index(&long_a, which), index(&long_b, which));
        }
        assert_ne!(index(&long_a, EXPIRES_INDEX), index(&long_a, USER_INDEX));
        // The name earlier versions gave the index on `expires_at` of a long table name.
        assert_eq!(
            index(&long_a, EXPIRES_INDEX),
            format!("{}_{:016x}_exp", &long_a[..34], fnv1a(long_a.as_bytes()))
        );
    }
}
