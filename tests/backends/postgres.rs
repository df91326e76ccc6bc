//! The shared backend suite against PostgreSQL, plus what is particular to it.
//!
//! Each test works on its own table, dropped when the test ends.
#![cfg(feature = "postgres")]

use crate::common;
use crate::{backend_suite, sql_suite};

use axum_session_store::{Changes, PostgresBackend, SessionBackend};
use common::servers::{self, Fixture};
use common::sql::{new_id, record, Setup, HOUR};
use serde_json::json;

/// A migrated backend on a fresh table, or `None` (after the skip-or-fail rule) when the
/// server is down.
async fn setup() -> Option<Setup<PostgresBackend>> {
    Setup::on_server("PostgreSQL", &servers::postgres_url()).await
}

async fn postgres() -> Option<Fixture> {
    Some(setup().await?.fixture)
}

backend_suite!(postgres);
sql_suite!(PostgresBackend, setup);

/// The suite again on a schema-qualified table, `auth_….sessions`, in a schema of its own
/// that the fixture drops.
mod in_schema {
    use super::*;
    use sqlx::Connection;

    async fn postgres_in_schema() -> Option<Fixture> {
        let url = servers::postgres_url();
        let pool = common::sql::server_pool::<sqlx::Postgres>("PostgreSQL", &url).await?;
        let schema = servers::unique_name("auth");
        sqlx::raw_sql(&format!(r#"CREATE SCHEMA "{schema}""#))
            .execute(&pool)
            .await
            .unwrap();
        let drop_schema = format!(r#"DROP SCHEMA "{schema}" CASCADE"#);
        let cleanup = move || {
            servers::block_on(async move {
                let mut connection = sqlx::PgConnection::connect(&url).await.unwrap();
                sqlx::raw_sql(&drop_schema)
                    .execute(&mut connection)
                    .await
                    .unwrap();
            })
        };
        let table = format!("{schema}.sessions");
        let setup = Setup::<PostgresBackend>::on_table(pool, table, cleanup).await;
        Some(setup.fixture)
    }

    backend_suite!(postgres_in_schema);
}

#[tokio::test]
async fn nul_characters_are_an_error_not_corruption() {
    let Some(setup) = setup().await else {
        return;
    };
    let backend = &setup.backend;
    let id = new_id();
    assert!(backend
        .create(&id, &record(json!({"x\u{0}": 1})), HOUR)
        .await
        .is_err());
    assert!(backend
        .create(&id, &record(json!({"a": "x\u{0}y"})), HOUR)
        .await
        .is_err());
    assert!(backend
        .create(&id, &record(json!({"a": 1})), HOUR)
        .await
        .unwrap());
    let changes = Changes {
        removed: vec!["x\u{0}".into()],
        ..Changes::default()
    };
    assert!(backend.apply(&id, &changes, HOUR).await.is_err());
    assert_eq!(
        backend.load(&id).await.unwrap(),
        Some(record(json!({"a": 1})))
    );
}
