//! When a server-side session sends its id cookie: on creation and on a new id always; on a
//! change that keeps the id only when the cookie itself must change (a fallback key signed it,
//! a max age makes it slide, or a rolling refresh counts from the last save). The default case
//! (no cookie sent) is in the backend suite, for every backend.

use crate::common;

use std::sync::Arc;

use axum_session_store::backend::MemoryBackend;
use axum_session_store::cookie::CookieArgs;
use axum_session_store::{SessionConfig, SessionConfigBuilder};
use common::servers::Fixture;
use common::suite::config_with;
use common::{app, Client, SECRET};
use time::Duration;

fn memory() -> Fixture {
    Fixture::new(Arc::new(MemoryBackend::new()))
}

/// Creates a session, then changes it twice; returns whether each change sent a cookie.
async fn changes_send_cookie(
    tweak: impl FnOnce(SessionConfigBuilder) -> SessionConfigBuilder,
) -> [bool; 2] {
    let (config, _) = config_with(&memory(), tweak);
    let mut client = Client::new(app::layered(config));
    let created = client.get("/set?a=1").await;
    assert!(created.cookie("session").is_some(), "creation sends the id");
    let first = client.get("/set?a=2").await.cookie("session").is_some();
    let second = client.get("/set?b=3").await.cookie("session").is_some();
    [first, second]
}

#[tokio::test]
async fn changes_send_no_cookie_without_a_reason() {
    assert_eq!(changes_send_cookie(|b| b).await, [false, false]);
}

#[tokio::test]
async fn a_new_id_is_always_sent() {
    let (config, _) = config_with(&memory(), |b| b);
    let mut client = Client::new(app::layered(config));
    let first = client.get("/set?a=1").await.cookie("session").unwrap();
    let regenerated = client.get("/regenerate").await.cookie("session");
    assert!(regenerated.is_some_and(|id| id != first));
}

#[tokio::test]
async fn a_sliding_max_age_resends_the_cookie() {
    let cookie_max_age =
        |b: SessionConfigBuilder| b.cookie_args(CookieArgs::default().max_age(Duration::days(1)));
    assert_eq!(changes_send_cookie(cookie_max_age).await, [true, true]);
    let session_max_age = |b: SessionConfigBuilder| b.session_max_age(Duration::days(1));
    assert_eq!(changes_send_cookie(session_max_age).await, [true, true]);
}

#[tokio::test]
async fn a_rolling_refresh_resends_the_cookie() {
    let rolling = |b: SessionConfigBuilder| b.rolling_refresh(Duration::minutes(5));
    assert_eq!(changes_send_cookie(rolling).await, [true, true]);
}

#[tokio::test]
async fn a_cookie_signed_with_a_fallback_key_is_signed_again_on_a_change() {
    let old_secret = "an older secret of thirty-two b!";
    let new_secret = std::str::from_utf8(SECRET).unwrap();
    let fixture = memory();
    let with = |secret: &str, fallbacks: &[&str]| -> SessionConfig {
        let (config, _) = config_with(&fixture, |b| {
            b.secret_key(secret)
                .fallback_keys(fallbacks.iter().copied())
        });
        config
    };
    let mut old = Client::new(app::layered(with(old_secret, &[])));
    old.get("/set?a=1").await;

    // After the rotation, the first change signs the same id with the new key...
    let mut rotated = Client::new(app::layered(with(new_secret, &[old_secret])));
    rotated.jar = old.jar.clone();
    let resigned = rotated.get("/set?a=2").await.cookie("session");
    assert!(
        resigned.is_some(),
        "a fallback-signed cookie is signed again"
    );
    // ...which the new key alone accepts, with the change in place.
    let mut new_only = Client::new(app::layered(with(new_secret, &[])));
    new_only.jar = rotated.jar.clone();
    let dumped = common::dumped(&new_only.get("/dump").await);
    assert_eq!(dumped["values"], serde_json::json!({"a": 2}));
    // The next change under the new key sends nothing.
    assert!(rotated.get("/set?a=3").await.cookie("session").is_none());
}

/// The id of the session the client holds.
fn held_id(config: &SessionConfig, client: &Client) -> String {
    common::session_id_in(config, "session", &client.cookie("session")).unwrap()
}

/// Id cookies are signed under a key of their own: a cookie session that holds `_sid` (a value
/// a handler may have stored for any reason) is never taken for an id cookie, and an id cookie
/// never reads as a cookie session.
#[tokio::test]
async fn a_cookie_session_is_never_read_as_an_id_cookie_nor_the_reverse() {
    let (config, _) = config_with(&memory(), |b| b);
    let router = app::layered(config.clone());
    let mut client = Client::new(router.clone());
    client.get("/set?user=ada").await;
    let id = held_id(&config, &client);

    let as_cookie_session = config
        .serializer()
        .serialize("session", &serde_json::json!({ "_sid": id }))
        .unwrap();
    let reply =
        common::get_with_cookie(&router, "/dump", &format!("session={as_cookie_session}")).await;
    assert_eq!(common::dumped(&reply)["is_new"], true, "not the record");
    assert!(config
        .serializer()
        .deserialize("session", &client.cookie("session"), None)
        .is_err());
}

/// The id cookie's payload is exactly `{"_sid": id}`: one with anything more is refused.
#[tokio::test]
async fn an_id_cookie_with_extra_fields_is_refused() {
    let (config, _) = config_with(&memory(), |b| b);
    let router = app::layered(config.clone());
    let mut client = Client::new(router.clone());
    client.get("/set?user=ada").await;
    let id = held_id(&config, &client);
    let sign = |payload| {
        config
            .id_serializer()
            .serialize("session", &payload)
            .unwrap()
    };

    let exact = sign(serde_json::json!({ "_sid": id }));
    let reply = common::get_with_cookie(&router, "/dump", &format!("session={exact}")).await;
    assert_eq!(common::dumped(&reply)["values"]["user"], "ada");

    let extended = sign(serde_json::json!({ "_sid": id, "user": "mallory" }));
    let reply = common::get_with_cookie(&router, "/dump", &format!("session={extended}")).await;
    assert_eq!(common::dumped(&reply)["is_new"], true);
}
