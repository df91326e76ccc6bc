//! The names the SQL backends put into SQL text: the table's (validated), its index's, and the
//! key of the lock `migrate` takes.

use crate::backend::error::BackendError;

/// The table the backends use unless told otherwise.
pub(super) const DEFAULT_TABLE: &str = "sessions";

/// The longest table name accepted: PostgreSQL's identifier limit.
const MAX_TABLE_NAME_LEN: usize = 63;

/// `name` if every backend accepts it as a table name: `[A-Za-z_][A-Za-z0-9_]{0,62}`.
///
/// The backends put the name into SQL text, quoted (so reserved words work too); it can never
/// contain a quote, which is what makes that safe.
pub(super) fn validate_table_name(name: &str) -> Result<String, BackendError> {
    let mut bytes = name.bytes();
    let valid = name.len() <= MAX_TABLE_NAME_LEN
        && bytes
            .next()
            .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if valid {
        Ok(name.to_owned())
    } else {
        Err(BackendError::msg(format!(
            "invalid session table name {name:?}: use 1 to {MAX_TABLE_NAME_LEN} ASCII letters, \
             digits and underscores, not starting with a digit"
        )))
    }
}

/// The name of the index on `table`'s expiry column: unique per table name and at most 63
/// characters, so PostgreSQL never truncates it into another table's index name.
pub(super) fn index_name(table: &str) -> String {
    const SUFFIX: &str = "_expires_idx";
    if table.len() + SUFFIX.len() <= MAX_TABLE_NAME_LEN {
        format!("{table}{SUFFIX}")
    } else {
        // Table names are ASCII, so any byte index is a char boundary.
        format!("{}_{:016x}_exp", &table[..34], fnv1a(table.as_bytes()))
    }
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
            assert_eq!(validate_table_name(good).unwrap(), good);
        }
        for bad in ["", "1a", "a-b", "a b", "a;b", "a\"b", "ü", &"a".repeat(64)] {
            let error = validate_table_name(bad).unwrap_err().to_string();
            assert!(
                error.contains("ASCII letters, digits and underscores"),
                "{error}"
            );
        }
    }

    #[test]
    fn index_names_fit_and_differ() {
        assert_eq!(index_name("sessions"), "sessions_expires_idx");
        let long_a = format!("{}a", "x".repeat(62));
        let long_b = format!("{}b", "x".repeat(62));
        assert!(index_name(&long_a).len() <= 63);
        assert_ne!(index_name(&long_a), index_name(&long_b));
    }
}
