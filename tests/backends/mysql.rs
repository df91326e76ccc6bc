//! The shared backend suite against MySQL or MariaDB, plus what is particular to it (in
//! `common::sql`: expired rows hold their ids until deleted, and keys may contain U+0000).
//!
//! Each test works on its own table, dropped when the test ends.
#![cfg(feature = "mysql")]

use crate::common;
use crate::{backend_suite, sql_suite};

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

/// A create that fails for any reason but a taken id is an error, not "taken": `INSERT IGNORE`
/// turns such failures (here a foreign key the row does not satisfy) into a warning and zero
/// rows, so the session layer tried three ids and reported `NoFreshId`, hiding the cause.
#[tokio::test]
async fn a_failed_create_is_an_error_not_a_taken_id() {
    use axum_session_store::SessionBackend;
    let Some(setup) = setup().await else { return };
    let parent = format!("{}_parent", setup.table);
    let _drop_parent = Fixture::with_cleanup(setup.backend.clone(), {
        let (url, parent) = (servers::mysql_url(), parent.clone());
        move || {
            servers::block_on(async move {
                let pool = sqlx::MySqlPool::connect(&url).await.unwrap();
                let sql = format!("SET FOREIGN_KEY_CHECKS = 0; DROP TABLE IF EXISTS `{parent}`");
                sqlx::raw_sql(&sql).execute(&pool).await.unwrap();
            })
        }
    });
    let constrain = format!(
        "CREATE TABLE `{parent}` (id VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin PRIMARY KEY) \
         ENGINE = InnoDB; \
         ALTER TABLE `{table}` ADD CONSTRAINT `{table}_fk` FOREIGN KEY (id) REFERENCES `{parent}` (id)",
        table = setup.table
    );
    sqlx::raw_sql(&constrain)
        .execute(&setup.pool)
        .await
        .unwrap();
    let record = common::sql::record(serde_json::json!({"a": 1}));
    let ttl = time::Duration::hours(1);
    let result = setup
        .backend
        .create(&common::sql::new_id(), &record, ttl)
        .await;
    let error = result.expect_err("an error, not Ok(false)");
    let text = format!("{error}: {:?}", std::error::Error::source(&error));
    assert!(text.contains("foreign key"), "{text}");

    // A taken id is still `Ok(false)`, and leaves the record as it was.
    let id = common::sql::new_id();
    let insert = format!("INSERT INTO `{parent}` (id) VALUES (?)");
    sqlx::query(&insert)
        .bind(id.as_str())
        .execute(&setup.pool)
        .await
        .unwrap();
    assert!(setup.backend.create(&id, &record, ttl).await.unwrap());
    let other = common::sql::record(serde_json::json!({"b": 2}));
    assert!(!setup.backend.create(&id, &other, ttl).await.unwrap());
    assert_eq!(setup.backend.load(&id).await.unwrap(), Some(record));
}
