//! The shared backend suite against SQLite, in a file and in memory, plus what is particular
//! to it.
//!
//! File databases live in their own temporary directory, removed when the test ends.
#![cfg(feature = "sqlite")]

use crate::common;
use crate::sql_suite;

use std::str::FromStr;

use axum_session_store::backend::{Changes, SqliteBackend};
use axum_session_store::SessionBackend;
use common::servers::{self, Fixture};
use common::sql::{self, apply_and_check, new_id, record, Setup, HOUR};
use serde_json::json;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};

/// A migrated backend on a fresh table in a database file of its own, whose writers wait for
/// each other.
async fn on_file() -> Option<Setup<SqliteBackend>> {
    let dir = std::env::temp_dir().join(servers::unique_name("axum_session_store_sqlite"));
    std::fs::create_dir(&dir).unwrap();
    let options = SqliteConnectOptions::new()
        .filename(dir.join("sessions.db"))
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .busy_timeout(std::time::Duration::from_secs(30));
    let cleanup = move || std::fs::remove_dir_all(&dir).unwrap();
    Some(Setup::new(sql::pool(options).await, cleanup).await)
}

/// A migrated backend on a private in-memory database: one connection, kept for good.
async fn in_memory() -> Option<Setup<SqliteBackend>> {
    let pool = SqlitePoolOptions::new()
        .max_connections(1)
        .min_connections(1)
        .idle_timeout(None)
        .max_lifetime(None)
        .connect_with(SqliteConnectOptions::from_str("sqlite::memory:").unwrap())
        .await
        .unwrap();
    Some(Setup::new(pool, || {}).await)
}

mod file {
    use super::*;

    async fn sqlite_file() -> Option<Fixture> {
        Some(on_file().await?.fixture)
    }

    crate::backend_suite!(sqlite_file);
}

mod memory {
    use super::*;

    async fn sqlite_memory() -> Option<Fixture> {
        Some(in_memory().await?.fixture)
    }

    crate::backend_suite!(sqlite_memory);
}

sql_suite!(SqliteBackend, on_file);

#[tokio::test]
async fn keys_with_nul_are_kept_but_cannot_be_changed() {
    let setup = on_file().await.unwrap();
    let backend = &*setup.backend;
    let id = new_id();
    let stored = record(json!({"a\u{0}b": 1, "a": 2, "\u{0}": 3, "": 4}));
    assert!(backend.create(&id, &stored, HOUR).await.unwrap());
    assert_eq!(backend.load(&id).await.unwrap().as_ref(), Some(&stored));
    for changes in [
        Changes::new().set("a\u{0}b", json!(5)),
        Changes::new().remove("\u{0}"),
    ] {
        let error = backend.apply(&id, &changes, HOUR).await.unwrap_err();
        assert!(error.to_string().contains("U+0000"), "{error}");
    }
    assert_eq!(backend.load(&id).await.unwrap().as_ref(), Some(&stored));
    // Other keys still change, and clearing drops the NUL keys too.
    let mut expected = stored.clone();
    apply_and_check(
        backend,
        &id,
        &mut expected,
        Changes::new().remove("a").set("", json!("x\u{0}y")),
    )
    .await;
    apply_and_check(backend, &id, &mut expected, Changes::new().clear()).await;
    assert!(expected.is_empty());
}
