//! An audit trail of sessions in PostgreSQL: every login, logout, revocation, expiry, refused
//! cookie and conflict, as a row, written by a `SessionEvents` handler in the background (a
//! slow database never slows a request; what its buffer cannot hold is counted).
//!
//! ```text
//! cargo run --example audit_trail --features postgres
//! curl -s -c jar -b jar -X POST http://localhost:3000/login/ada
//! curl -s -c jar -b jar -X POST http://localhost:3000/logout
//! psql postgres://postgres@127.0.0.1:5432/test -c 'SELECT * FROM session_audit'
//! ```
//!
//! The database is found through `POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432/test`).

use std::env;

use axum::extract::Path;
use axum::routing::post;
use axum::Router;
use axum_session_store::backend::MemoryBackend;
use axum_session_store::session::{EventKind, SessionEvent, SessionEvents};
use axum_session_store::sqlx::PgPool;
use axum_session_store::{Session, SessionConfig, SessionError};

/// Writes each event as a row of `table`.
#[derive(Clone, Debug)]
struct Audit {
    pool: PgPool,
    table: String,
}

impl Audit {
    async fn new(pool: PgPool, table: &str) -> Result<Self, axum_session_store::sqlx::Error> {
        let create = format!(
            "CREATE TABLE IF NOT EXISTS {table} (
                 at TIMESTAMPTZ NOT NULL, session TEXT NOT NULL, backend TEXT NOT NULL,
                 kind TEXT NOT NULL, handle TEXT, detail TEXT)"
        );
        axum_session_store::sqlx::query(&create)
            .execute(&pool)
            .await?;
        let table = table.to_owned();
        Ok(Self { pool, table })
    }
}

impl SessionEvents for Audit {
    async fn handle(&self, event: SessionEvent) {
        let detail = match &event.kind {
            EventKind::Regenerated { previous } => Some(format!("previous {previous}")),
            EventKind::Revoked { by: Some(by) } => Some(format!("by {by}")),
            EventKind::OthersRevoked { count } => Some(format!("{count} sessions")),
            EventKind::CookieRejected { reason } => Some(reason.as_str().to_owned()),
            _ => None,
        };
        let insert = format!(
            "INSERT INTO {} (at, session, backend, kind, handle, detail)
             VALUES (to_timestamp($1), $2, $3, $4, $5, $6)",
            self.table
        );
        let written = axum_session_store::sqlx::query(&insert)
            .bind(event.at.unix_timestamp() as f64)
            .bind(&event.session)
            .bind(&event.backend)
            .bind(event.kind.as_str())
            .bind(event.handle.map(|handle| handle.to_string()))
            .bind(detail)
            .execute(&self.pool)
            .await;
        if let Err(error) = written {
            // An audit trail that fails must say so; the request it reports is long answered.
            tracing::error!(%error, "could not write a session event to the audit trail");
        }
    }
}

async fn login(session: Session, Path(user): Path<String>) -> Result<&'static str, SessionError> {
    session.set_user_id(user)?;
    Ok("signed in\n")
}

async fn logout(session: Session) -> &'static str {
    session.invalidate();
    "signed out\n"
}

fn app(config: SessionConfig) -> Router {
    Router::new()
        .route("/login/{user}", post(login))
        .route("/logout", post(logout))
        .layer(config.layer())
        .with_state(config)
}

async fn config(secret: &[u8], audit: Audit) -> Result<SessionConfig, Box<dyn std::error::Error>> {
    Ok(SessionConfig::builder()
        .secret_key(secret)
        .default_backend(MemoryBackend::new())
        .events(audit)
        .build()?)
}

fn postgres_url() -> String {
    env::var("POSTGRES_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt::init();
    let pool = PgPool::connect(&postgres_url()).await?;
    let audit = Audit::new(pool, "session_audit").await?;
    let mut secret = [0; 48];
    getrandom::fill(&mut secret)?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    println!("Listening on http://localhost:3000, auditing into session_audit");
    axum::serve(listener, app(config(&secret, audit).await?)).await?;
    Ok(())
}

/// The curl tour, in process, against the PostgreSQL the tests use.
#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::header::COOKIE;
    use axum::http::Request;
    use axum_session_store::test_util::CookieJar;
    use std::time::Duration;
    use tower::ServiceExt;

    async fn post(app: &Router, jar: &mut CookieJar, path: &str) {
        let mut request = Request::post(path).body(Body::empty()).unwrap();
        if let Some(cookie) = jar.header() {
            request.headers_mut().insert(COOKIE, cookie.clone());
        }
        let response = app.clone().oneshot(request).await.unwrap();
        assert_eq!(response.status(), 200);
        jar.store_response(response.headers());
    }

    #[tokio::test]
    async fn a_login_and_a_logout_are_written_to_the_audit_trail() {
        let pool = match PgPool::connect(&postgres_url()).await {
            Ok(pool) => pool,
            Err(error) if env::var_os("SESSION_TESTS_REQUIRE_SERVERS").is_none() => {
                println!(
                    "skipped: PostgreSQL unreachable at {}: {error}",
                    postgres_url()
                );
                return;
            }
            Err(error) => panic!("PostgreSQL unreachable at {}: {error}", postgres_url()),
        };
        let suffix: u64 = rand_suffix();
        let table = format!("audit_example_{suffix}");
        let audit = Audit::new(pool.clone(), &table).await.unwrap();
        let secret = b"an example secret, at least 32 bytes long";
        let app = app(config(secret, audit).await.unwrap());
        let mut jar = CookieJar::new();
        post(&app, &mut jar, "/login/ada").await;
        post(&app, &mut jar, "/logout").await;

        let query = format!("SELECT kind FROM {table} ORDER BY at, kind");
        let mut kinds: Vec<String> = Vec::new();
        for _ in 0..100 {
            kinds = axum_session_store::sqlx::query_scalar(&query)
                .fetch_all(&pool)
                .await
                .unwrap();
            if kinds.len() >= 3 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let drop = format!("DROP TABLE {table}");
        axum_session_store::sqlx::query(&drop)
            .execute(&pool)
            .await
            .unwrap();
        kinds.sort();
        assert_eq!(kinds, ["created", "invalidated", "user_set"]);
    }

    fn rand_suffix() -> u64 {
        let mut bytes = [0; 8];
        getrandom::fill(&mut bytes).unwrap();
        u64::from_le_bytes(bytes)
    }
}
