//! The shared backend suite against PostgreSQL, plus what is particular to it.
//!
//! Each test works on its own table, dropped when the test ends.
#![cfg(feature = "postgres")]

use crate::common;
use crate::{backend_suite, sql_suite};

use axum_session_store::backend::Batching;
use axum_session_store::backend::{ApplyItem, Changes, PostgresBackend};
use axum_session_store::SessionBackend;
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
    let changes = Changes::new().remove("x\u{0}");
    assert!(backend.apply(&id, &changes, HOUR).await.is_err());
    assert_eq!(
        backend.load(&id).await.unwrap(),
        Some(record(json!({"a": 1})))
    );
}

/// Three saves in one batch: the one whose value PostgreSQL refuses (U+0000) fails alone.
#[tokio::test]
async fn a_value_the_database_refuses_fails_only_its_own_save_in_a_batch() {
    let Some(setup) = setup().await else {
        return;
    };
    let backend = &setup.backend;
    let ids = [new_id(), new_id(), new_id()];
    for id in &ids {
        assert!(backend
            .create(id, &record(json!({"n": 0})), HOUR)
            .await
            .unwrap());
    }
    let set = |key: &str, n: i64| Changes::new().set(key.to_owned(), json!(n));
    let items = [
        ApplyItem::new(ids[0].clone(), set("n", 1), HOUR),
        ApplyItem::new(ids[1].clone(), set("x\u{0}", 2), HOUR),
        ApplyItem::new(ids[2].clone(), set("n", 3), HOUR),
    ];
    let applied = backend.apply_many(&items).await;
    assert!(matches!(applied[0], Ok(true)), "{applied:?}");
    assert!(applied[1].is_err(), "{applied:?}");
    assert!(matches!(applied[2], Ok(true)), "{applied:?}");
    let loaded: Vec<_> = backend
        .load_many(&ids)
        .await
        .into_iter()
        .map(|record| record.unwrap().unwrap()["n"].clone())
        .collect();
    assert_eq!(loaded, [json!(1), json!(0), json!(3)]);
}

/// A batch whose statement fails (here: its table is gone) fails every operation in it.
#[tokio::test]
async fn a_failed_batch_statement_fails_every_operation_in_it() {
    let Some(setup) = setup().await else {
        return;
    };
    let backend = &setup.backend;
    let ids = [new_id(), new_id()];
    for id in &ids {
        assert!(backend
            .create(id, &record(json!({"n": 0})), HOUR)
            .await
            .unwrap());
    }
    let moved = format!("{}_moved", setup.table);
    let rename = |from: &str, to: &str| format!(r#"ALTER TABLE "{from}" RENAME TO "{to}""#);
    sqlx::raw_sql(&rename(&setup.table, &moved))
        .execute(&setup.pool)
        .await
        .unwrap();
    let items: Vec<ApplyItem> = ids
        .iter()
        .map(|id| ApplyItem::new(id.clone(), Changes::new().set("n", json!(1)), HOUR))
        .collect();
    let applied = backend.apply_many(&items).await;
    let loaded = backend.load_many(&ids).await;
    sqlx::raw_sql(&rename(&moved, &setup.table))
        .execute(&setup.pool)
        .await
        .unwrap();
    assert!(applied.iter().all(Result::is_err), "{applied:?}");
    assert!(loaded.iter().all(Result::is_err), "{loaded:?}");
    for id in &ids {
        assert_eq!(
            backend.load(id).await.unwrap(),
            Some(record(json!({"n": 0})))
        );
    }
}

/// Behind a partition (a proxy that goes silent, sockets open), a request answers 503 within
/// the backend's timeout rather than sqlx's 30 s acquire timeout; healed, requests work again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partition_answers_503_in_time_and_heals() {
    let Some(setup) = setup().await else { return };
    common::sql::a_partition_answers_503_in_time_and_heals(&setup, &servers::postgres_url()).await;
}

/// A value nested deeper than the server reads fails only its own save: the batch statement
/// the server refuses changed nothing, and each save then runs on its own. (PostgreSQL's limit
/// is its stack: about 12,000 levels at the default `max_stack_depth` of 2 MB, about 690 at
/// the 100 kB the sessions of this test get.)
#[tokio::test]
async fn a_value_too_deep_for_the_database_fails_only_its_own_save_in_a_batch() {
    use sqlx::postgres::PgConnectOptions;
    let Some(setup) = setup().await else { return };
    let options: PgConnectOptions = servers::postgres_url().parse().unwrap();
    let options = options.options([("max_stack_depth", "100kB")]);
    let pool = common::sql::pool::<sqlx::Postgres>(options).await;
    let backend = PostgresBackend::with_table(pool, &setup.table).unwrap();
    let accepted = axum_session_store::session::MAX_VALUE_DEPTH;
    common::sql::a_too_deep_save_fails_alone(&backend, accepted, 1000).await;
}
