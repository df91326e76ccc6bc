//! No client makes a session grow without end: pending flash messages are capped, and a
//! server-side record has a byte limit that fails a save clearly instead of truncating it.

use crate::common;

use std::time::Instant;

use axum::body::Body;
use axum::http::Request;
use axum::response::Redirect;
use axum::routing::{get, post};
use axum::Router;
use axum_session_store::backend::MemoryBackend;
use axum_session_store::SessionBackend;
use axum_session_store::{Flash, Session, SessionConfig, SessionError, SessionId};
use common::Client;
use serde_json::json;

fn memory_config(
    tweak: impl FnOnce(
        axum_session_store::SessionConfigBuilder,
    ) -> axum_session_store::SessionConfigBuilder,
) -> (SessionConfig, MemoryBackend) {
    let memory = MemoryBackend::new();
    let config = tweak(
        SessionConfig::builder()
            .secret_key(common::SECRET)
            .default_backend(memory.clone()),
    )
    .build()
    .unwrap();
    (config, memory)
}

/// The quickstart's login on a bad form: flash an error and redirect.
async fn bad_login(flash: Flash) -> (Flash, Redirect) {
    flash.error("Please give a user name.");
    (flash, Redirect::to("/"))
}

/// The same with a long message, so that the pending ones outgrow what a cookie holds.
async fn bad_login_at_length(flash: Flash) -> (Flash, Redirect) {
    flash.error("x".repeat(100));
    (flash, Redirect::to("/"))
}

/// How many flash messages were pending.
async fn count_flashes(flash: Flash) -> String {
    flash.take().len().to_string()
}

/// The record of the client's session, read from the memory backend.
async fn record_of(
    (config, memory): &(SessionConfig, MemoryBackend),
    client: &Client,
) -> serde_json::Map<String, serde_json::Value> {
    let sid = common::session_id_in(config, "session", &client.cookie("session")).unwrap();
    memory
        .load(&SessionId::parse(&sid).unwrap())
        .await
        .unwrap()
        .expect("the record")
}

/// A bot replaying a flash-and-redirect POST 6,000 times with its cookie, never following the
/// redirect: the newest messages are kept, in the signed cookie while they fit (no record),
/// else in a record that stays small; the time per request stays flat.
#[tokio::test]
async fn a_replayed_form_that_flashes_keeps_the_session_bounded() {
    let memory = memory_config(|b| b);
    let config = memory.0.clone();
    let router = Router::new()
        .route("/login", post(bad_login))
        .route("/login-at-length", post(bad_login_at_length))
        .route("/", get(count_flashes))
        .layer(config.layer())
        .with_state(config.clone());
    for (path, in_cookie) in [("/login", true), ("/login-at-length", false)] {
        let mut bot = Client::new(router.clone());
        let mut timings = Vec::new();
        for _ in 0..6 {
            let started = Instant::now();
            for _ in 0..1000 {
                // A bot that never follows the redirect, so no message is ever shown.
                let request = Request::post(path).body(Body::empty()).unwrap();
                assert_eq!(bot.send(request).await.status, 303);
            }
            timings.push(started.elapsed() / 1000);
        }
        let cookie = bot.cookie("session");
        assert!(
            cookie.len() < 4096,
            "{path}: the cookie fits: {} bytes",
            cookie.len()
        );
        let sid = common::session_id_in(&config, "session", &cookie);
        assert_eq!(
            sid.is_none(),
            in_cookie,
            "{path}: held in the cookie: {in_cookie}"
        );
        if !in_cookie {
            let record = record_of(&memory, &bot).await;
            let size = serde_json::to_string(&record).unwrap().len();
            assert!(size < 5_000, "{path}: the record stays small: {size} bytes");
        }
        let pending = bot.get("/").await.body;
        assert_eq!(
            pending,
            SessionConfig::DEFAULT_MAX_FLASHES.to_string(),
            "{path}: the newest are kept"
        );
        eprintln!("{path}: time per request, per thousand requests: {timings:?}");
    }
}

#[tokio::test]
async fn max_flashes_is_configurable() {
    let memory = memory_config(|b| b.max_flashes(2));
    let config = memory.0.clone();
    let router = Router::new()
        .route("/login", post(bad_login))
        .route(
            "/",
            get(|flash: Flash| async move { (flash.clone(), flash.take().len().to_string()) }),
        )
        .layer(config.layer())
        .with_state(config.clone());
    let mut client = Client::new(router);
    for _ in 0..5 {
        client
            .send(Request::post("/login").body(Body::empty()).unwrap())
            .await;
    }
    assert_eq!(client.get("/").await.body, "2");
}

#[tokio::test]
async fn a_record_over_its_byte_limit_fails_its_save_and_writes_nothing() {
    async fn store(session: Session, body: String) -> Result<Session, SessionError> {
        session.insert("blob", body)?;
        Ok(session)
    }
    let memory = memory_config(|b| b.max_record_bytes(1_000));
    let config = memory.0.clone();
    let router = Router::new()
        .route("/store", post(store))
        .layer(config.layer())
        .with_state(config.clone());
    let mut client = Client::new(router);
    let small = client
        .send(
            Request::post("/store")
                .body(Body::from("x".repeat(100)))
                .unwrap(),
        )
        .await;
    assert_eq!(small.status, 200);
    let (logs, _capture) = common::Logs::capture();
    let large = client
        .send(
            Request::post("/store")
                .body(Body::from("y".repeat(2_000)))
                .unwrap(),
        )
        .await;
    assert_eq!(large.status, 500);
    assert!(large.set_cookies.is_empty());
    assert!(
        logs.text().contains("max_record_bytes"),
        "the log names the setting: {}",
        logs.text()
    );
    assert_eq!(
        record_of(&memory, &client).await["blob"],
        json!("x".repeat(100)),
        "the record is left as it was, never truncated"
    );
}
