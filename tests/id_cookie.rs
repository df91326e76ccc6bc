//! When a server-side session sends its id cookie: on creation and on a new id always; on a
//! change that keeps the id only when the cookie itself must change (a fallback key signed it,
//! a max age makes it slide, or a rolling refresh counts from the last save).

mod common;

use axum_session_store::{CookieArgs, SessionConfig, SessionConfigBuilder};
use common::{app, Client, SECRET};
use time::Duration;

fn memory_config(
    configure: impl FnOnce(SessionConfigBuilder) -> SessionConfigBuilder,
) -> SessionConfig {
    configure(
        SessionConfig::builder()
            .secret_key(SECRET)
            .default_backend("memory"),
    )
    .build()
    .unwrap()
}

/// Creates a session, then changes it twice; returns whether each change sent a cookie.
async fn changes_send_cookie(config: SessionConfig) -> (Client, [bool; 2]) {
    let mut client = Client::new(app::layered(config));
    let created = client.get("/set?a=1").await;
    assert!(created.cookie("session").is_some(), "creation sends the id");
    let first = client.get("/set?a=2").await.cookie("session").is_some();
    let second = client.get("/set?b=3").await.cookie("session").is_some();
    (client, [first, second])
}

#[tokio::test]
async fn changes_under_the_same_id_send_no_cookie_by_default() {
    let (mut client, sent) = changes_send_cookie(memory_config(|b| b)).await;
    assert_eq!(sent, [false, false]);
    // The changes were saved all the same, under the id the browser already holds.
    let values = common::dumped(&client.get("/dump").await)["values"].clone();
    assert_eq!(values, serde_json::json!({"a": 2, "b": 3}));
}

#[tokio::test]
async fn a_new_id_is_always_sent() {
    let mut client = Client::new(app::layered(memory_config(|b| b)));
    let first = client.get("/set?a=1").await.cookie("session").unwrap();
    let regenerated = client.get("/regenerate").await.cookie("session");
    assert!(regenerated.is_some_and(|id| id != first));
}

#[tokio::test]
async fn a_sliding_max_age_resends_the_cookie() {
    let config = memory_config(|b| {
        b.cookie_args(CookieArgs {
            max_age: Some(Duration::days(1)),
            ..CookieArgs::default()
        })
    });
    assert_eq!(changes_send_cookie(config).await.1, [true, true]);
    let config = memory_config(|b| b.session_max_age(Duration::days(1)));
    assert_eq!(changes_send_cookie(config).await.1, [true, true]);
}

#[tokio::test]
async fn a_rolling_refresh_resends_the_cookie() {
    let config = memory_config(|b| b.rolling_refresh(Duration::minutes(5)));
    assert_eq!(changes_send_cookie(config).await.1, [true, true]);
}

#[tokio::test]
async fn a_cookie_signed_with_a_fallback_key_is_signed_again_on_a_change() {
    let old_secret = "an older secret of thirty-two b!";
    let backend = std::sync::Arc::new(axum_session_store::MemoryBackend::new());
    let with = |secret: &str, fallbacks: &[&str]| {
        SessionConfig::builder()
            .secret_key(secret)
            .fallback_keys(fallbacks.iter().copied())
            .shared_backend("shared", backend.clone())
            .default_backend("shared")
            .build()
            .unwrap()
    };
    let mut old = Client::new(app::layered(with(old_secret, &[])));
    old.get("/set?a=1").await;

    // After the rotation, the first change signs the same id with the new key...
    let rotated_config = with(std::str::from_utf8(SECRET).unwrap(), &[old_secret]);
    let mut rotated = Client::new(app::layered(rotated_config));
    rotated.jar = old.jar.clone();
    let resigned = rotated.get("/set?a=2").await.cookie("session");
    assert!(
        resigned.is_some(),
        "a fallback-signed cookie is signed again"
    );
    // ...which the new key alone accepts, with the change in place.
    let mut new_only = Client::new(app::layered(with(
        std::str::from_utf8(SECRET).unwrap(),
        &[],
    )));
    new_only.jar = rotated.jar.clone();
    let dumped = common::dumped(&new_only.get("/dump").await);
    assert_eq!(dumped["values"], serde_json::json!({"a": 2}));
    // The next change under the new key sends nothing.
    assert!(rotated.get("/set?a=3").await.cookie("session").is_none());
}
