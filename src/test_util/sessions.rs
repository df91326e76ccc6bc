//! Sessions made and read outside a request: a `Cookie` header that carries a session with
//! given values, and the session a jar holds, through the same code a request runs.

use axum::body::Body;
use axum::http::header::{COOKIE, SET_COOKIE};
use axum::http::{Extensions, HeaderMap, HeaderValue};
use axum::response::Response;
use serde::Serialize;
use serde_json::{Map, Value};

use super::jar::CookieJar;
use crate::config::built::SessionConfig;
use crate::error::SessionError;
use crate::request::saver::Saver;
use crate::request::store::SessionStore;

/// The cookie (`name=value`) of the session `name`, kept where the config keeps it, holding
/// `values`: what a browser would send after a request that stored them. For a cookie the values are
/// signed (or sealed) into it; for a server-side one the record is created in the backend and
/// the cookie holds its id. Put it in a `Cookie` header, or in a [`CookieJar`].
///
/// # Errors
/// As a request's save would fail: a reserved key, a cookie too large, a backend that fails.
///
/// ```
/// use axum_session_store::backend::MemoryBackend;
/// use axum_session_store::test_util::{read_session, session_cookie, CookieJar};
/// use axum_session_store::{SessionConfig, SessionName};
/// use serde_json::json;
///
/// struct Cart;
/// impl SessionName for Cart {
///     const NAME: &'static str = "cart";
/// }
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let secret = "an example secret, at least 32 bytes long";
/// let config = SessionConfig::builder()
///     .secret_key(secret)
///     .session_backend::<Cart>(MemoryBackend::new())
///     .build()?;
/// let cookie = session_cookie(&config, "session", [("user", "ada")]).await?;
/// assert!(cookie.starts_with("session="));
///
/// // Server-side: the record is in the memory backend, the cookie holds its id.
/// let mut jar = CookieJar::new();
/// jar.store(&session_cookie(&config, "cart", [("items", json!([1, 2]))]).await?);
/// let cart = read_session(&config, &jar, "cart").await?;
/// assert_eq!(cart.unwrap()["items"], json!([1, 2]));
/// # Ok(()) }
/// ```
pub async fn session_cookie<K, V>(
    config: &SessionConfig,
    name: &str,
    values: impl IntoIterator<Item = (K, V)>,
) -> Result<String, SessionError>
where
    K: AsRef<str>,
    V: Serialize,
{
    let store = SessionStore::new(
        config.clone(),
        &HeaderMap::new(),
        &Extensions::new(),
        Saver::LayerPending,
    );
    let session = store.get_session(name).await?;
    for (key, value) in values {
        session.insert(key, value)?;
    }
    let mut response = Response::new(Body::empty());
    store.save_for_layer(&mut response).await?;
    let prefix = format!("{name}=");
    response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|header| header.to_str().ok())
        .find(|header| header.starts_with(&prefix))
        .and_then(|header| header.split(';').next())
        .map(str::to_owned)
        .ok_or_else(|| SessionError::Encode {
            session: name.to_owned(),
            source: "the session wrote no cookie: give it at least one value".into(),
        })
}

/// The values of the session `name` that `jar` carries (after
/// [`CookieJar::store_response`], the session a response set), read as a request would read
/// them: `None` when the jar has no valid cookie for it, or its record is gone. The keys the
/// crate keeps for itself are left out, as [`Session::keys`](crate::Session::keys) leaves
/// them out.
///
/// # Errors
/// As a request's load would fail: a backend that fails.
///
/// ```
/// use axum::{routing::get, Router};
/// use axum_session_store::test_util::{read_session, CookieJar};
/// use axum_session_store::{Session, SessionConfig, SessionError};
/// use tower::ServiceExt;
///
/// async fn login(session: Session) -> Result<Session, SessionError> {
///     session.insert("user", "ada")?;
///     Ok(session)
/// }
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let secret = "an example secret, at least 32 bytes long";
/// let config = SessionConfig::builder().secret_key(secret).build()?;
/// let app = Router::new().route("/login", get(login)).with_state(config.clone());
/// let response = app.oneshot(axum::http::Request::get("/login").body(axum::body::Body::empty())?).await?;
///
/// let mut jar = CookieJar::new();
/// jar.store_response(response.headers());
/// let session = read_session(&config, &jar, "session").await?;
/// assert_eq!(session.unwrap()["user"], "ada");
/// # Ok(()) }
/// ```
pub async fn read_session(
    config: &SessionConfig,
    jar: &CookieJar,
    name: &str,
) -> Result<Option<Map<String, Value>>, SessionError> {
    let mut headers = HeaderMap::new();
    if let Some(value) = jar.get(name) {
        let cookie = HeaderValue::try_from(format!("{name}={value}")).map_err(|_| {
            SessionError::InvalidHeader {
                session: name.to_owned(),
            }
        })?;
        headers.insert(COOKIE, cookie);
    }
    let store = SessionStore::new(
        config.clone(),
        &headers,
        &Extensions::new(),
        Saver::LayerPending,
    );
    let session = store.get_session(name).await?;
    // Reading saves nothing, whatever a rolling refresh would do in a request.
    store.expect_unsaved();
    if session.is_new() {
        return Ok(None);
    }
    Ok(Some(
        session
            .keys()
            .into_iter()
            .filter_map(|key| Some((key.clone(), session.get_value(&key)?)))
            .collect(),
    ))
}
