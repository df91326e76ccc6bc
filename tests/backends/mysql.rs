//! The shared backend suite against MySQL or MariaDB, plus what is particular to it (in
//! `common::sql`: expired rows hold their ids until deleted, and keys may contain U+0000).
//!
//! Each test works on its own table, dropped when the test ends.
#![cfg(feature = "mysql")]

use crate::common;
use crate::{backend_suite, sql_suite};
use common::UserIds;

use axum_session_store::backend::MySqlBackend;
use axum_session_store::backend::UserIndex;
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

/// A table as the versions before binary user ids made it (`user_id` a `VARCHAR` in
/// `utf8mb4_bin`, which pads trailing spaces): `migrate`, from two processes at once and then
/// again, converts the column, and the users "alice" and "alice " reach only their own sessions.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrate_makes_the_user_ids_of_an_earlier_table_exact() {
    use axum_session_store::SessionBackend;
    use common::sql::{new_id, record, HOUR};
    use serde_json::json;

    let Some(setup) = setup().await else { return };
    let table = servers::unique_name("padded");
    let _drop = Fixture::with_cleanup(
        setup.backend.clone(),
        <MySqlBackend as common::sql::SqlBackend>::drop_table(&setup.pool, &table),
    );
    let earlier = format!(
        "CREATE TABLE `{table}` (
             id VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL PRIMARY KEY,
             data LONGTEXT CHARACTER SET utf8mb4 NOT NULL CHECK (JSON_VALID(data)),
             expires_at BIGINT NOT NULL,
             user_id VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin
                 GENERATED ALWAYS AS (JSON_UNQUOTE(JSON_EXTRACT(data, '$._user'))) STORED,
             INDEX `{table}_expires_idx` (expires_at),
             INDEX `{table}_user_idx` (user_id)
         ) ENGINE = InnoDB DEFAULT CHARACTER SET = utf8mb4"
    );
    sqlx::raw_sql(&earlier).execute(&setup.pool).await.unwrap();
    let backend = MySqlBackend::with_table(setup.pool.clone(), &table).unwrap();
    let (alice, padded) = (new_id(), new_id());
    for (id, user) in [(&alice, "alice"), (&padded, "alice ")] {
        let data = record(json!({ "_user": user }));
        assert!(backend.create(id, &data, HOUR).await.unwrap());
    }
    // The earlier column finds both for either.
    assert_eq!(backend.user_ids("alice ").await.unwrap().len(), 2);

    let processes: Vec<_> = (0..2)
        .map(|_| {
            let table = table.clone();
            tokio::spawn(async move {
                let pool =
                    common::sql::pool::<sqlx::MySql>(servers::mysql_url().parse().unwrap()).await;
                MySqlBackend::with_table(pool, &table)
                    .unwrap()
                    .migrate()
                    .await
            })
        })
        .collect();
    for process in processes {
        process.await.unwrap().unwrap();
    }
    backend.migrate().await.unwrap();

    assert_eq!(
        backend.user_ids("alice").await.unwrap(),
        vec![alice.clone()]
    );
    assert_eq!(
        backend.user_ids("alice ").await.unwrap(),
        vec![padded.clone()]
    );
    assert_eq!(
        backend.revoke_user_sessions("alice ", None).await.unwrap(),
        1
    );
    assert!(backend.load(&alice).await.unwrap().is_some());
    assert_eq!(backend.load(&padded).await.unwrap(), None);
    let column: String = sqlx::query_scalar(
        "SELECT CAST(COLUMN_TYPE AS CHAR) FROM information_schema.COLUMNS
         WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND COLUMN_NAME = 'user_id'",
    )
    .bind(&table)
    .fetch_one(&setup.pool)
    .await
    .unwrap();
    assert_eq!(column, "varbinary(255)");
}

/// Behind a partition (a proxy that goes silent, sockets open), a request answers 503 within
/// the backend's timeout rather than sqlx's 30 s acquire timeout; healed, requests work again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partition_answers_503_in_time_and_heals() {
    let Some(setup) = setup().await else { return };
    common::sql::a_partition_answers_503_in_time_and_heals(&setup, &servers::mysql_url()).await;
}
