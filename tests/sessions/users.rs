//! Tying sessions to users: what a cookie session, a bad user id, a session without a user and
//! a backend without user support answer. (Listing and revoking on every server backend is
//! in the backend suite.)

use axum::extract::Path;
use axum::routing::get;
use axum::Router;
use axum_session_store::backend::{MemoryBackend, Storage};
use axum_session_store::session::MAX_USER_ID_LEN;
use axum_session_store::{BackendError, Session, SessionConfig, SessionError};

use crate::common::storage_only::StorageOnly;
use crate::common::{Client, SECRET};

/// What each call answered, as text: `ok …` or the error's variant and message.
fn outcome<T: std::fmt::Debug>(result: Result<T, SessionError>) -> String {
    match result {
        Ok(value) => format!("ok {value:?}"),
        Err(error) => {
            let source = std::error::Error::source(&error)
                .and_then(|source| source.downcast_ref::<BackendError>())
                .map(|source| format!(" (unsupported: {}) {source}", source.is_unsupported()))
                .unwrap_or_default();
            format!("{error}{source}")
        }
    }
}

async fn set_user(session: Session, Path(user): Path<String>) -> (Session, String) {
    let result = outcome(session.set_user_id(user));
    (session, result)
}

async fn devices(session: Session) -> String {
    outcome(session.user_sessions().await.map(|devices| devices.len()))
}

async fn revoke(session: Session) -> String {
    outcome(session.revoke_other_sessions().await)
}

/// "Log out this device", for the device this request comes from.
async fn revoke_this_one(session: Session) -> String {
    let handle = session.handle().expect("a saved session");
    outcome(session.revoke_session(&handle).await)
}

async fn user(session: Session) -> String {
    format!("{:?}", session.user_id())
}

fn app(config: SessionConfig) -> Router {
    Router::new()
        .route("/set-user/{user}", get(set_user))
        .route("/devices", get(devices))
        .route("/revoke", get(revoke))
        .route("/revoke-this-one", get(revoke_this_one))
        .route("/user", get(user))
        .layer(config.layer())
        .with_state(config)
}

fn config_on(backend: impl Into<Storage>) -> SessionConfig {
    SessionConfig::builder()
        .secret_key(SECRET)
        .default_backend(backend)
        .build()
        .unwrap()
}

#[tokio::test]
async fn a_cookie_session_cannot_be_tied_to_a_user_and_says_so() {
    let mut client = Client::new(app(config_on(Storage::signed_cookie())));
    for path in ["/set-user/ada", "/devices", "/revoke"] {
        let reply = client.get(path).await;
        assert!(
            reply.body.contains("is kept in its cookie")
                && reply
                    .body
                    .contains("cannot tie it to a user, list or revoke it"),
            "{path}: {}",
            reply.body
        );
    }
    assert!(client.jar.is_empty(), "nothing was saved");
}

/// Revoking the session the request comes from is a logout: its record goes, and so does its
/// cookie (a devices page lists the current device too).
#[tokio::test]
async fn revoking_the_current_session_logs_it_out_and_expires_its_cookie() {
    let mut client = Client::new(app(config_on(MemoryBackend::new())));
    client.get("/set-user/ada").await;
    let old = client.cookie("session");
    let reply = client.get("/revoke-this-one").await;
    assert_eq!(reply.body, "ok true");
    let removal = reply
        .set_cookie_header("session")
        .expect("the cookie expired");
    assert!(removal.contains("Max-Age=0"), "{removal}");
    assert!(client.jar.is_empty());
    let replay = client.send(
        axum::http::Request::get("/user")
            .header("cookie", format!("session={old}"))
            .body(axum::body::Body::empty())
            .unwrap(),
    );
    assert_eq!(replay.await.body, "None", "the old cookie is logged out");
}

#[tokio::test]
async fn user_ids_are_one_to_255_bytes() {
    let mut client = Client::new(app(config_on(MemoryBackend::new())));
    let longest = "u".repeat(MAX_USER_ID_LEN);
    let too_long = "u".repeat(MAX_USER_ID_LEN + 1);
    let reply = client.get(&format!("/set-user/{too_long}")).await;
    assert!(
        reply.body.contains("must be 1 to 255 bytes long, not 256"),
        "{}",
        reply.body
    );
    assert!(reply.set_cookies.is_empty(), "the session is unchanged");
    let reply = client.get(&format!("/set-user/{longest}")).await;
    assert_eq!(reply.body, "ok ()");
    assert_eq!(client.get("/devices").await.body, "ok 1");
}

#[tokio::test]
async fn a_session_without_a_user_has_no_sessions_to_list_or_revoke() {
    let mut client = Client::new(app(config_on(MemoryBackend::new())));
    assert_eq!(client.get("/devices").await.body, "ok 0");
    assert_eq!(client.get("/revoke").await.body, "ok 0");
}

#[tokio::test]
async fn a_backend_without_user_support_answers_unsupported() {
    let config = SessionConfig::builder()
        .secret_key(SECRET)
        .default_backend(Storage::server(StorageOnly::default()))
        .build()
        .unwrap();
    let mut client = Client::new(app(config));
    assert_eq!(client.get("/set-user/ada").await.body, "ok ()");
    let reply = client.get("/devices").await;
    assert!(
        reply
            .body
            .contains("failed to list the user's sessions (unsupported: true)"),
        "{}",
        reply.body
    );
    assert!(
        reply.body.contains("registered without a UserIndex"),
        "the error names what is missing: {}",
        reply.body
    );
    let reply = client.get("/revoke").await;
    assert!(reply.body.contains("(unsupported: true)"), "{}", reply.body);
}

async fn show_id(session: Session) -> (Session, String) {
    session.insert("touched", true).unwrap();
    let id = session.id().map(|id| id.as_str().to_owned());
    (session, format!("{id:?}"))
}

#[tokio::test]
async fn a_server_session_has_its_record_id_and_a_cookie_session_none() {
    let config = config_on(MemoryBackend::new());
    let router = Router::new()
        .route("/id", get(show_id))
        .layer(config.layer())
        .with_state(config.clone());
    let mut client = Client::new(router);
    assert_eq!(client.get("/id").await.body, "None", "not saved yet");
    let in_cookie =
        crate::common::session_id_in(&config, "session", &client.cookie("session")).unwrap();
    assert_eq!(client.get("/id").await.body, format!("Some({in_cookie:?})"));

    let config = config_on(Storage::signed_cookie());
    let router = Router::new().route("/id", get(show_id)).with_state(config);
    let mut client = Client::new(router);
    client.get("/id").await;
    assert_eq!(
        client.get("/id").await.body,
        "None",
        "a cookie session has no id"
    );
}
