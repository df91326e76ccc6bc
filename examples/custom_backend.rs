//! A backend of your own: session records as JSON files in a directory. This file is the whole
//! of what a backend author writes: the five methods of `SessionBackend`, and optionally
//! `DeleteExpired` for a cleanup task.
//!
//! ```text
//! cargo run --example custom_backend
//! curl -s -c jar -b jar http://localhost:3000/   # "visit 1"
//! curl -s -c jar -b jar http://localhost:3000/   # "visit 2"
//! ls "${TMPDIR:-/tmp}/axum-session-store-example"  # one file per session
//! ```
//!
//! A backend implements [`SessionBackend`] exactly as the built-in ones do: load, create under a
//! new id, apply changes, move to a new id, delete, each an `async fn`; deleting expired records
//! is the optional [`DeleteExpired`]. This one keeps one file per session and serialises writes
//! with a lock, so changes and moves are atomic. Its tests (run by
//! `cargo test`) check it with the testing kit's `backend_suite`, and drive the app with
//! sessions made by `session_cookie` and read by `read_session`.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::routing::get;
use axum::Router;
use axum_session_store::backend::{
    spawn_cleanup, Changes, DeleteExpired, Record, Regenerated, Storage,
};
use axum_session_store::cookie::CookieArgs;
use axum_session_store::{
    BackendError, Session, SessionBackend, SessionConfig, SessionError, SessionId, SessionName,
};
use serde::{Deserialize, Serialize};
use time::Duration;
use tokio::sync::Mutex;

/// Session records as `<dir>/<id>.json`, each holding the data and its expiry.
#[derive(Debug)]
struct FileBackend {
    dir: PathBuf,
    /// Held while a record is read and rewritten, so two changes never interleave.
    write_lock: Mutex<()>,
}

#[derive(Serialize, Deserialize)]
struct StoredRecord {
    expires_at_ms: u128,
    data: Record,
}

fn now_ms() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_millis())
}

fn expiry_ms(ttl: Duration) -> u128 {
    now_ms() + u128::try_from(ttl.whole_milliseconds()).unwrap_or(0)
}

impl FileBackend {
    async fn new(dir: PathBuf) -> std::io::Result<Self> {
        tokio::fs::create_dir_all(&dir).await?;
        Ok(Self {
            dir,
            write_lock: Mutex::new(()),
        })
    }

    fn path(&self, id: &SessionId) -> PathBuf {
        // Ids are 32 URL-safe base64 characters: safe as file names.
        self.dir.join(format!("{}.json", id.as_str()))
    }

    /// The live record at `id`, if any.
    async fn read(&self, id: &SessionId) -> Result<Option<StoredRecord>, BackendError> {
        let bytes = match tokio::fs::read(self.path(id)).await {
            Ok(bytes) => bytes,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(err) => return Err(BackendError::new("reading a session file", err)),
        };
        let stored: StoredRecord = serde_json::from_slice(&bytes)
            .map_err(|err| BackendError::new("parsing a session file", err))?;
        Ok((stored.expires_at_ms > now_ms()).then_some(stored))
    }

    /// Deletes the file of `id`, if there is one.
    async fn remove(&self, id: &SessionId) -> Result<(), BackendError> {
        match tokio::fs::remove_file(self.path(id)).await {
            Err(err) if err.kind() != std::io::ErrorKind::NotFound => {
                Err(BackendError::new("deleting a session file", err))
            }
            _ => Ok(()),
        }
    }

    async fn write(&self, id: &SessionId, stored: &StoredRecord) -> Result<(), BackendError> {
        let bytes = serde_json::to_vec(stored)
            .map_err(|err| BackendError::new("encoding a session file", err))?;
        // Write then rename, so a reader never sees half a file.
        let temporary = self.path(id).with_extension("tmp");
        tokio::fs::write(&temporary, bytes)
            .await
            .map_err(|err| BackendError::new("writing a session file", err))?;
        tokio::fs::rename(&temporary, self.path(id))
            .await
            .map_err(|err| BackendError::new("renaming a session file", err))
    }
}

impl SessionBackend for FileBackend {
    async fn load(&self, id: &SessionId) -> Result<Option<Record>, BackendError> {
        Ok(self.read(id).await?.map(|stored| stored.data))
    }

    async fn create(
        &self,
        id: &SessionId,
        record: &Record,
        ttl: Duration,
    ) -> Result<bool, BackendError> {
        let _guard = self.write_lock.lock().await;
        if self.read(id).await?.is_some() {
            return Ok(false); // taken: the caller retries with a fresh id
        }
        let stored = StoredRecord {
            expires_at_ms: expiry_ms(ttl),
            data: record.clone(),
        };
        self.write(id, &stored).await?;
        Ok(true)
    }

    async fn apply(
        &self,
        id: &SessionId,
        changes: &Changes,
        ttl: Duration,
    ) -> Result<bool, BackendError> {
        let _guard = self.write_lock.lock().await;
        let Some(mut stored) = self.read(id).await? else {
            return Ok(false); // gone: never re-create it
        };
        changes.apply_to(&mut stored.data);
        stored.expires_at_ms = expiry_ms(ttl);
        self.write(id, &stored).await?;
        Ok(true)
    }

    /// Under the lock, so no change to `old` can slip in between reading and deleting it.
    async fn regenerate(
        &self,
        old: &SessionId,
        new: &SessionId,
        changes: &Changes,
        ttl: Duration,
    ) -> Result<Regenerated, BackendError> {
        let _guard = self.write_lock.lock().await;
        let Some(mut stored) = self.read(old).await? else {
            return Ok(Regenerated::Gone); // logged out meanwhile: never bring it back
        };
        if self.read(new).await?.is_some() {
            return Ok(Regenerated::Taken);
        }
        changes.apply_to(&mut stored.data);
        stored.expires_at_ms = expiry_ms(ttl);
        self.write(new, &stored).await?;
        self.remove(old).await?;
        Ok(Regenerated::Moved)
    }

    async fn delete(&self, id: &SessionId) -> Result<(), BackendError> {
        let _guard = self.write_lock.lock().await;
        self.remove(id).await
    }
}

/// Expired files never load, but take room: `spawn_cleanup` deletes them.
impl DeleteExpired for FileBackend {
    async fn delete_expired(&self) -> Result<u64, BackendError> {
        let _guard = self.write_lock.lock().await;
        let mut deleted = 0;
        let mut entries = tokio::fs::read_dir(&self.dir)
            .await
            .map_err(|err| BackendError::new("listing session files", err))?;
        while let Ok(Some(entry)) = entries.next_entry().await {
            let path = entry.path();
            let Some(id) = path
                .file_stem()
                .and_then(|stem| stem.to_str())
                .and_then(SessionId::parse)
            else {
                continue;
            };
            if self.read(&id).await.is_ok_and(|live| live.is_none()) {
                let _ = tokio::fs::remove_file(&path).await;
                deleted += 1;
            }
        }
        Ok(deleted)
    }
}

/// The default session, kept in files.
async fn visits(session: Session) -> Result<String, SessionError> {
    let visits: u64 = session.get("visits")?.unwrap_or(0) + 1;
    session.insert("visits", visits)?;
    Ok(format!("visit {visits}\n")) // the layer saves it
}

/// A second session in the same backend, under its own cookie.
struct Basket;
impl SessionName for Basket {
    const NAME: &'static str = "basket";
}

async fn add_to_basket(basket: Session<Basket>) -> Result<String, SessionError> {
    let mut items: Vec<String> = basket.get("items")?.unwrap_or_default();
    items.push(format!("item {}", items.len() + 1));
    basket.insert("items", &items)?;
    Ok(format!("{items:?}\n"))
}

/// The config: the default session and the basket both kept in `backend`'s files (one
/// [`Storage`], shared), under their own cookies.
fn config(
    secret: impl AsRef<[u8]>,
    backend: Arc<FileBackend>,
) -> Result<SessionConfig, axum_session_store::ConfigError> {
    let files = Storage::server(backend);
    SessionConfig::builder()
        .secret_key(secret)
        .default_backend(files.clone())
        .session_backend::<Basket>(files)
        .session_max_age(Duration::hours(12))
        // Plain http://localhost for the demo; keep the default (Secure) in production.
        .cookie_args(CookieArgs::default().secure(false))
        .build()
}

/// The routes, behind the session layer that saves the file sessions.
fn app(config: SessionConfig) -> Router {
    Router::new()
        .route("/", get(visits))
        .route("/basket", get(add_to_basket))
        .layer(config.layer())
        .with_state(config)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt::init();
    let dir = std::env::temp_dir().join("axum-session-store-example");
    let backend = Arc::new(FileBackend::new(dir.clone()).await?);
    // Delete expired files every minute.
    let _cleanup = spawn_cleanup(backend.clone(), Duration::minutes(1))?;

    // No constant fallback: without SESSION_SECRET, a random secret for this run only.
    let secret = match std::env::var("SESSION_SECRET") {
        Ok(secret) => secret.into_bytes(),
        Err(_) => {
            let mut secret = vec![0; 48];
            getrandom::fill(&mut secret)?;
            secret
        }
    };
    let config = config(secret, backend)?;

    let app = app(config);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    println!(
        "Listening on http://localhost:3000, sessions in {}",
        dir.display()
    );
    axum::serve(listener, app).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::http::header::COOKIE;
    use axum::http::Request;
    use axum_session_store::test_util::{backend_suite, read_session, session_cookie, CookieJar};
    use tower::ServiceExt;

    use super::*;

    /// A backend in a fresh directory, removed at the end.
    struct Files {
        backend: Arc<FileBackend>,
        dir: PathBuf,
    }

    impl Files {
        async fn new() -> Self {
            let dir = std::env::temp_dir().join(format!(
                "axum-session-store-example-test-{}",
                SessionId::generate().unwrap().as_str()
            ));
            let backend = Arc::new(FileBackend::new(dir.clone()).await.unwrap());
            Self { backend, dir }
        }
    }

    impl Drop for Files {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }

    #[tokio::test]
    async fn passes_the_backend_suite() {
        let files = Files::new().await;
        backend_suite(files.backend.clone()).await;
    }

    #[tokio::test]
    async fn a_session_made_by_the_kit_counts_on() {
        let files = Files::new().await;
        let config = config(
            "an example secret, at least 32 bytes long",
            files.backend.clone(),
        )
        .unwrap();
        let cookie = session_cookie(&config, "session", [("visits", 41)])
            .await
            .unwrap();
        let request = Request::get("/")
            .header(COOKIE, &cookie)
            .body(Body::empty())
            .unwrap();
        let response = app(config.clone()).oneshot(request).await.unwrap();
        let mut jar = CookieJar::new();
        jar.store(&cookie);
        jar.store_response(response.headers());
        let body = axum::body::to_bytes(response.into_body(), 1024)
            .await
            .unwrap();
        assert_eq!(&body[..], b"visit 42\n");
        let session = read_session(&config, &jar, "session").await.unwrap();
        assert_eq!(session.unwrap()["visits"], 42);
    }
}
