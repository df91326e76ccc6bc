//! The testing kit: cookies made by `session_cookie` for each kind of backend are sessions the
//! app reads; `read_session` reads what a response set.

use axum_session_store::backend::Storage;
use axum_session_store::test_util::{read_session, session_cookie, CookieJar};
use axum_session_store::{SessionConfig, SessionError};
use serde_json::json;

use crate::common::{app, dumped, get_with_cookie, Client, SECRET};

fn config_on(backend: impl Into<Storage>) -> SessionConfig {
    SessionConfig::builder()
        .secret_key(SECRET)
        .default_backend(backend)
        .build()
        .unwrap()
}

#[tokio::test]
async fn a_made_cookie_is_a_session_for_every_kind_of_backend() {
    for (backend, storage) in crate::common::storages() {
        let config = config_on(storage);
        let values = [("user", json!("ada")), ("cart", json!([1, 2]))];
        let cookie = session_cookie(&config, "session", values).await.unwrap();
        let reply = get_with_cookie(&app::layered(config), "/dump", &cookie).await;
        assert_eq!(
            dumped(&reply),
            json!({"is_new": false, "is_modified": false, "values": {"user": "ada", "cart": [1, 2]}}),
            "{backend}"
        );
    }
}

#[tokio::test]
async fn read_session_reads_what_a_response_set() {
    for (backend, storage) in crate::common::storages() {
        let config = config_on(storage);
        let mut client = Client::new(app::layered(config.clone()));
        client.get("/set?theme=dark&n=3").await;
        client.get("/flash/add?msg=hi").await;
        let session = read_session(&config, &client.jar, "session").await.unwrap();
        assert_eq!(
            serde_json::Value::Object(session.unwrap()),
            json!({"theme": "dark", "n": 3, "_flash": [["hi", null]]}),
            "{backend}"
        );
        let empty = CookieJar::new();
        let none = read_session(&config, &empty, "session").await.unwrap();
        assert_eq!(none, None, "{backend}: no cookie, no session");
    }
}

#[tokio::test]
async fn what_a_request_could_not_save_the_kit_cannot_make() {
    let config = config_on(Storage::signed_cookie());
    let nothing: [(&str, u8); 0] = [];
    let error = session_cookie(&config, "session", nothing)
        .await
        .unwrap_err();
    assert!(error.to_string().contains("cannot be encoded"), "{error}");
    let reserved = session_cookie(&config, "session", [("_created", 1)]).await;
    assert!(
        matches!(reserved, Err(SessionError::ReservedKey { .. })),
        "{reserved:?}"
    );
}
