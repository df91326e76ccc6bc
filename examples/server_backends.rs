//! Server-side sessions: the default session kept in Redis, PostgreSQL, SQLite or memory,
//! chosen by the first argument, beside a signed-cookie session in the same handler.
//!
//! ```text
//! cargo run --example server_backends --features redis,postgres,sqlite -- redis
//! cargo run --example server_backends --features redis,postgres,sqlite -- postgres
//! cargo run --example server_backends --features redis,postgres,sqlite -- sqlite
//! cargo run --example server_backends --features redis,postgres,sqlite -- memory
//!
//! curl -s -c jar -b jar http://localhost:3000/           # "visit 1 (kept in redis), theme dark"
//! curl -s -c jar -b jar http://localhost:3000/           # "visit 2 ..."
//! curl -s -c jar -b jar -X POST http://localhost:3000/login    # new session id, same data
//! curl -s -c jar -b jar -X POST http://localhost:3000/logout   # record deleted, cookie expired
//! ```
//!
//! Servers are found through `REDIS_URL` (default `redis://127.0.0.1:6379`), `POSTGRES_URL`
//! (default `postgres://postgres@127.0.0.1:5432/test`) and `SQLITE_URL` (default
//! `sqlite://sessions.db?mode=rwc`).

use std::env;

use axum::routing::{get, post};
use axum::{Extension, Router};
use axum_session_store::backend::{
    spawn_cleanup, MemoryBackend, PostgresBackend, RedisBackend, SqliteBackend, Storage,
};
use axum_session_store::cookie::CookieArgs;
use axum_session_store::{deadpool_redis, sqlx, Session, SessionConfig, SessionError, SessionName};
use time::Duration;
use tokio::task::JoinHandle;

/// Preferences, kept in a signed cookie beside the server-side default session.
struct Prefs;
impl SessionName for Prefs {
    const NAME: &'static str = "prefs";
}

/// Which backend keeps the default session, for the page to say.
#[derive(Clone)]
struct Kind(String);

async fn index(
    session: Session,
    prefs: Session<Prefs>,
    Extension(Kind(backend)): Extension<Kind>,
) -> Result<String, SessionError> {
    let visits: u64 = session.get("visits")?.unwrap_or(0) + 1;
    session.insert("visits", visits)?;
    if !prefs.contains_key("theme") {
        prefs.insert("theme", "dark")?;
    }
    let theme: String = prefs.get("theme")?.unwrap_or_default();
    // No need to return the sessions: the layer saves them.
    Ok(format!(
        "visit {visits} (kept in {backend}), theme {theme}\n"
    ))
}

/// At login, give the session a new id: an id planted beforehand is worth nothing.
async fn login(session: Session) -> Result<&'static str, SessionError> {
    session.insert("user", "ada")?;
    session.regenerate_id();
    Ok("logged in, new session id\n")
}

async fn logout(session: Session) -> &'static str {
    session.invalidate();
    "logged out\n"
}

/// The backend `kind`, as the config keeps it, and the task that deletes its expired records
/// when it needs one (SQL and memory; Redis expires them itself).
async fn backend(
    kind: &str,
) -> Result<(Storage, Option<JoinHandle<()>>), Box<dyn std::error::Error>> {
    let cleanup = Duration::minutes(5);
    Ok(match kind {
        "redis" => {
            let url = env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
            let pool = deadpool_redis::Config::from_url(url)
                .create_pool(Some(deadpool_redis::Runtime::Tokio1))?;
            (RedisBackend::new(pool).into(), None)
        }
        "postgres" => {
            let url = env::var("POSTGRES_URL")
                .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
            let backend = PostgresBackend::new(sqlx::PgPool::connect(&url).await?);
            backend.migrate().await?;
            let task = spawn_cleanup(backend.clone(), cleanup)?;
            (backend.into(), Some(task))
        }
        "sqlite" => {
            let url =
                env::var("SQLITE_URL").unwrap_or_else(|_| "sqlite://sessions.db?mode=rwc".into());
            let backend = SqliteBackend::new(sqlx::SqlitePool::connect(&url).await?);
            backend.migrate().await?;
            let task = spawn_cleanup(backend.clone(), cleanup)?;
            (backend.into(), Some(task))
        }
        "memory" => {
            let backend = MemoryBackend::new();
            let task = spawn_cleanup(backend.clone(), cleanup)?;
            (backend.into(), Some(task))
        }
        other => {
            return Err(
                format!("unknown backend {other:?}: use redis, postgres, sqlite or memory").into(),
            )
        }
    })
}

/// The session config: the default session kept in `storage`.
fn config(
    secret: Vec<u8>,
    storage: Storage,
) -> Result<SessionConfig, axum_session_store::ConfigError> {
    SessionConfig::builder()
        .secret_key(secret)
        .default_backend(storage)
        .session_max_age(Duration::days(7))
        // Plain http://localhost for the demo; keep the default (Secure) in production.
        .cookie_args(CookieArgs::default().secure(false))
        .build()
}

fn app(config: SessionConfig, kind: &str) -> Router {
    Router::new()
        .route("/", get(index))
        .route("/login", post(login))
        .route("/logout", post(logout))
        .layer(config.layer())
        .layer(Extension(Kind(kind.to_owned())))
        .with_state(config)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt::init();
    let kind = env::args().nth(1).unwrap_or_else(|| "memory".into());
    let (storage, _cleanup) = backend(&kind).await?;

    // No constant fallback: without SESSION_SECRET, a random secret for this run only.
    let secret = match env::var("SESSION_SECRET") {
        Ok(secret) => secret.into_bytes(),
        Err(_) => {
            let mut secret = vec![0; 48];
            getrandom::fill(&mut secret)?;
            secret
        }
    };
    let app = app(config(secret, storage)?, &kind);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    println!("Listening on http://localhost:3000, sessions kept in {kind}");
    axum::serve(listener, app).await?;
    Ok(())
}

/// The curl tour of the module docs, in process, on the backends that need no server of
/// their own (the backend tests cover Redis and PostgreSQL).
#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::http::header::COOKIE;
    use axum::http::Request;
    use axum_session_store::test_util::CookieJar;
    use tower::ServiceExt;

    use super::*;

    async fn send(app: &Router, jar: &mut CookieJar, method: &str, path: &str) -> String {
        let mut request = Request::builder()
            .method(method)
            .uri(path)
            .body(Body::empty())
            .unwrap();
        if let Some(cookie) = jar.header() {
            request.headers_mut().insert(COOKIE, cookie.clone());
        }
        let response = app.clone().oneshot(request).await.unwrap();
        assert_eq!(response.status(), 200);
        jar.store_response(response.headers());
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        String::from_utf8(body.to_vec()).unwrap()
    }

    async fn tour(kind: &str) {
        let (storage, _cleanup) = super::backend(kind).await.unwrap();
        let secret = b"an example secret, at least 32 bytes long".to_vec();
        let app = app(config(secret, storage).unwrap(), kind);
        let mut jar = CookieJar::new();
        let first = send(&app, &mut jar, "GET", "/").await;
        assert_eq!(first, format!("visit 1 (kept in {kind}), theme dark\n"));
        assert!(send(&app, &mut jar, "GET", "/")
            .await
            .starts_with("visit 2"));
        let before = jar.get("session").unwrap().to_owned();
        send(&app, &mut jar, "POST", "/login").await;
        assert_ne!(jar.get("session").unwrap(), before, "a new session id");
        assert!(send(&app, &mut jar, "GET", "/")
            .await
            .starts_with("visit 3"));
        send(&app, &mut jar, "POST", "/logout").await;
        assert!(jar.get("session").is_none(), "the cookie is expired");
        assert!(send(&app, &mut jar, "GET", "/")
            .await
            .starts_with("visit 1"));
    }

    #[tokio::test]
    async fn the_tour_on_memory() {
        tour("memory").await;
    }
}
