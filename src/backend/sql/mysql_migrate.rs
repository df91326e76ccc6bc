//! What `MySqlBackend::migrate` runs: the table, and the changes that bring a table of an
//! earlier version up to date, as a [`LockedMigration`].

use sqlx::MySql;

use super::locked_migration::LockedMigration;
use super::names::{fnv1a, EXPIRES_INDEX, USER_INDEX};
use super::table::Table;

/// The column that ties a row to its user: binary, so that ids compare byte for byte (MySQL's
/// and MariaDB's `utf8mb4_bin` pads trailing spaces: it found `"alice "` for `"alice"`); the
/// user ids [`Session::set_user_id`] accepts (up to 255 bytes) fit.
///
/// [`Session::set_user_id`]: crate::Session::set_user_id
const USER_COLUMN: &str = "user_id VARBINARY(255) \
     GENERATED ALWAYS AS (CAST(JSON_UNQUOTE(JSON_EXTRACT(data, '$._user')) AS BINARY)) STORED";

/// How long `migrate` waits for another process's to finish, in seconds.
const LOCK_WAIT_SECONDS: i64 = 600;

/// The migration of `table`.
pub(super) fn migration(table: &Table<MySql>) -> LockedMigration {
    let (name, quoted) = (table.name(), table.quoted());
    let user_index = name.index(USER_INDEX);
    LockedMigration {
        // At most 64 characters, as MySQL requires.
        lock: format!(
            "axum-session-store migrate {:016x}",
            fnv1a(name.display().as_bytes())
        ),
        take: format!("SELECT COALESCE(GET_LOCK(?, {LOCK_WAIT_SECONDS}), 0)"),
        release: "SELECT COALESCE(RELEASE_LOCK(?), 0)",
        wait_seconds: LOCK_WAIT_SECONDS,
        create: format!(
            "CREATE TABLE IF NOT EXISTS {quoted} (
                 id VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL PRIMARY KEY,
                 data LONGTEXT CHARACTER SET utf8mb4 NOT NULL CHECK (JSON_VALID(data)),
                 expires_at BIGINT NOT NULL,
                 {USER_COLUMN},
                 INDEX `{expires_index}` (expires_at),
                 INDEX `{user_index}` (user_id)
             ) ENGINE = InnoDB DEFAULT CHARACTER SET = utf8mb4",
            expires_index = name.index(EXPIRES_INDEX),
        ),
        column_type: "SELECT CAST(DATA_TYPE AS CHAR CHARACTER SET utf8mb4)
             FROM information_schema.COLUMNS
             WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND COLUMN_NAME = 'user_id'",
        current_type: "varbinary",
        // The version before user sessions had no column.
        add: format!(
            "ALTER TABLE {quoted} ADD COLUMN {USER_COLUMN}, ADD INDEX `{user_index}` (user_id)"
        ),
        // The versions since had a `VARCHAR ... utf8mb4_bin` (its index stays).
        convert: format!("ALTER TABLE {quoted} MODIFY COLUMN {USER_COLUMN}"),
    }
}
