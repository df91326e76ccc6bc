//! Session records in SQL tables through sqlx: what the backends share (names, the clock, the
//! table and its queries, the backend traits, implemented once (`table_backend`), the JSON edit of SQLite and MySQL), and
//! one file per database.
// With the `sqlx` feature but no driver, nothing here is used.
#![cfg_attr(
    not(any(feature = "postgres", feature = "sqlite", feature = "mysql")),
    allow(dead_code, unused_imports)
)]

#[cfg(any(feature = "sqlite", feature = "mysql"))]
mod batch;
mod clock;
#[cfg(any(feature = "sqlite", feature = "mysql"))]
mod json_edit;
mod lease;
#[cfg(feature = "mysql")]
mod locked_migration;
#[cfg(feature = "mysql")]
mod mysql;
#[cfg(feature = "mysql")]
mod mysql_migrate;
mod names;
#[cfg(feature = "postgres")]
mod postgres;
#[cfg(feature = "postgres")]
mod postgres_batch;
#[cfg(feature = "postgres")]
mod postgres_json;
#[cfg(feature = "sqlite")]
mod sqlite;
mod table;
#[cfg(any(feature = "postgres", feature = "sqlite", feature = "mysql"))]
mod table_backend;

#[cfg(feature = "mysql")]
pub use mysql::MySqlBackend;
#[cfg(feature = "postgres")]
pub use postgres::PostgresBackend;
#[cfg(feature = "sqlite")]
pub use sqlite::SqliteBackend;
