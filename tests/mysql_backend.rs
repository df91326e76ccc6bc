//! The shared backend suite against MySQL or MariaDB, plus what is particular to it (in
//! `common::sql`: expired rows hold their ids until deleted, and keys may contain U+0000).
//!
//! Each test works on its own table, dropped when the test ends.
#![cfg(feature = "mysql")]

mod common;

use axum_session_store::MySqlBackend;
use common::servers::{self, Fixture};
use common::sql::Setup;

/// A migrated backend on a fresh table, or `None` (after the skip-or-fail rule) when the
/// server is down.
async fn setup() -> Option<Setup<MySqlBackend>> {
    Setup::on_server("MySQL", &servers::mysql_url()).await
}

async fn mysql() -> Option<Fixture> {
    Some(setup().await?.fixture)
}

backend_suite!(mysql);
sql_suite!(MySqlBackend, setup);
