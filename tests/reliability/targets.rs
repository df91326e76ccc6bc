//! The backends the reliability tests load: cookie sessions, memory, and each server-side
//! backend on the shared servers under a unique key prefix or table.

#[cfg(any(feature = "postgres", feature = "sqlite", feature = "mysql"))]
use std::time::Duration;

use axum_session_store::backend::{Batching, MemoryBackend, Storage, UserIndex};
use axum_session_store::{SessionConfig, SessionConfigBuilder};

use crate::common::{
    self,
    servers::{self, Fixture},
};

/// A backend to put under load: its config, and what removes its traces afterwards.
pub(crate) struct Target {
    pub(crate) config: SessionConfig,
    _cleanup: Option<Fixture>,
}

pub(crate) fn builder() -> SessionConfigBuilder {
    SessionConfig::builder().secret_key(common::SECRET)
}

/// A config whose default session is kept by `backend`, with `cleanup` to run at the end.
fn server_target<B>(backend: B, cleanup: impl FnOnce() + Send + 'static) -> Target
where
    B: Batching + UserIndex + Clone,
    Storage: From<B>,
{
    let fixture = Fixture::with_cleanup(backend.clone(), cleanup);
    let config = builder().default_backend(backend).build().unwrap();
    Target {
        config,
        _cleanup: Some(fixture),
    }
}

/// The backend `name`, ready; `None` after a "skipped:" line when its server is unreachable
/// (a failure instead under `SESSION_TESTS_REQUIRE_SERVERS=1`) or its feature is off.
pub(crate) async fn target(name: &str) -> Option<Target> {
    let cookie_or_memory = |storage: Storage| Target {
        config: builder().default_backend(storage).build().unwrap(),
        _cleanup: None,
    };
    match name {
        "signed cookie" => Some(cookie_or_memory(Storage::signed_cookie())),
        "private cookie" => Some(cookie_or_memory(Storage::private_cookie())),
        "memory" => Some(cookie_or_memory(MemoryBackend::new().into())),
        #[cfg(feature = "redis")]
        "Redis" => shared::redis().await,
        #[cfg(feature = "postgres")]
        "PostgreSQL" => shared::postgres().await,
        #[cfg(feature = "sqlite")]
        "SQLite file" => Some(shared::sqlite().await),
        #[cfg(feature = "mysql")]
        "MySQL/MariaDB" => shared::mysql().await,
        _ => {
            if servers::servers_required() {
                panic!(
                    "{name}: this test was built without its cargo feature (use --all-features)"
                );
            }
            eprintln!("skipped: {name}: built without its cargo feature");
            None
        }
    }
}

/// The backends on the shared servers, under unique key prefixes and tables.
mod shared {
    #[cfg(feature = "mysql")]
    use axum_session_store::backend::MySqlBackend;
    #[cfg(feature = "postgres")]
    use axum_session_store::backend::PostgresBackend;
    #[cfg(feature = "sqlite")]
    use axum_session_store::backend::SqliteBackend;

    use super::*;
    use crate::common::servers;

    #[cfg(feature = "redis")]
    pub(super) async fn redis() -> Option<Target> {
        let (backend, _, cleanup) = servers::shared_redis("reliability").await?;
        Some(server_target(backend, cleanup))
    }

    #[cfg(feature = "postgres")]
    pub(super) async fn postgres() -> Option<Target> {
        use sqlx::Connection;
        let connected = sqlx::postgres::PgPoolOptions::new()
            .max_connections(10)
            .acquire_timeout(Duration::from_secs(30))
            .connect(&servers::postgres_url())
            .await;
        let pool = match connected {
            Ok(pool) => pool,
            Err(error) => {
                servers::unreachable_server("PostgreSQL", error);
                return None;
            }
        };
        let table = servers::unique_name("reliability");
        let backend = PostgresBackend::with_table(pool, &table).unwrap();
        let target = server_target(backend.clone(), move || {
            servers::block_on(async {
                let mut connection = sqlx::PgConnection::connect(&servers::postgres_url())
                    .await
                    .unwrap();
                sqlx::raw_sql(&format!(r#"DROP TABLE IF EXISTS "{table}""#))
                    .execute(&mut connection)
                    .await
                    .unwrap();
            });
        });
        backend.migrate().await.unwrap();
        Some(target)
    }

    #[cfg(feature = "sqlite")]
    pub(super) async fn sqlite() -> Target {
        use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};
        let dir = std::env::temp_dir().join(servers::unique_name("axum_session_store_reliability"));
        std::fs::create_dir(&dir).unwrap();
        let options = SqliteConnectOptions::new()
            .filename(dir.join("sessions.db"))
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .busy_timeout(Duration::from_secs(30));
        let pool = SqlitePoolOptions::new()
            .max_connections(5)
            .connect_with(options)
            .await
            .unwrap();
        let backend = SqliteBackend::new(pool);
        let target = server_target(backend.clone(), move || {
            std::fs::remove_dir_all(&dir).unwrap();
        });
        backend.migrate().await.unwrap();
        target
    }

    #[cfg(feature = "mysql")]
    pub(super) async fn mysql() -> Option<Target> {
        use sqlx::Connection;
        let connected = sqlx::mysql::MySqlPoolOptions::new()
            .max_connections(10)
            .acquire_timeout(Duration::from_secs(30))
            .connect(&servers::mysql_url())
            .await;
        let pool = match connected {
            Ok(pool) => pool,
            Err(error) => {
                servers::unreachable_server("MySQL", error);
                return None;
            }
        };
        let table = servers::unique_name("reliability");
        let backend = MySqlBackend::with_table(pool, &table).unwrap();
        let target = server_target(backend.clone(), move || {
            servers::block_on(async {
                let mut connection = sqlx::MySqlConnection::connect(&servers::mysql_url())
                    .await
                    .unwrap();
                sqlx::raw_sql(&format!("DROP TABLE IF EXISTS `{table}`"))
                    .execute(&mut connection)
                    .await
                    .unwrap();
            });
        });
        backend.migrate().await.unwrap();
        Some(target)
    }
}
