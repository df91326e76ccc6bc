//! The behaviours of webapp2's own session tests (`tests/extras_sessions_test.py`), through a
//! real `Router`, cookies carried from each response to the next request.

use crate::common;

use axum::routing::get;
use axum::Router;
use axum_session_store::{
    ConfigError, DefaultSession, Session, SessionConfig, SessionError, SessionStore,
};
use common::{app, dumped, Client};
use serde_json::{json, Map, Value};

#[test]
fn config_without_secret_is_an_error() {
    let err = SessionConfig::builder().build().unwrap_err();
    assert_eq!(err, ConfigError::MissingSecretKey);
    assert!(err.to_string().contains("openssl rand"), "{err}");
}

#[tokio::test]
async fn custom_cookie_name() {
    let config = SessionConfig::builder()
        .secret_key(common::SECRET)
        .cookie_name("foo")
        .build()
        .unwrap();
    let mut client = Client::new(app::router(config));
    let reply = client.get("/set?bar=bar").await;
    assert_eq!(reply.set_cookies.len(), 1);
    assert!(
        reply.set_cookies[0].starts_with("foo="),
        "{:?}",
        reply.set_cookies
    );
    assert_eq!(
        dumped(&client.get("/dump").await)["values"],
        json!({"bar": "bar"})
    );
}

#[tokio::test]
async fn get_and_save_across_three_requests() {
    let mut client = Client::new(app::router(common::config()));

    let first = client.get("/set?a=b&c=d&e=f").await;
    assert!(first.cookie("session").is_some());

    let second = client.get("/set?g=h").await;
    assert!(second.cookie("session").is_some());

    let third = dumped(&client.get("/dump").await);
    assert_eq!(third["is_new"], false);
    assert_eq!(
        third["values"],
        json!({"a": "b", "c": "d", "e": "f", "g": "h"})
    );
}

#[tokio::test]
async fn removing_a_missing_key_returns_nothing_and_changes_nothing() {
    let mut client = Client::new(app::router(common::config()));
    client.get("/set?a=1").await;

    let missing = client.get("/remove/nope").await;
    assert_eq!(
        common::dumped(&missing),
        json!({"removed": null, "is_modified": false})
    );
    assert!(
        missing.set_cookies.is_empty(),
        "an unmodified session sets no cookie"
    );

    let present = client.get("/remove/a").await;
    assert_eq!(
        common::dumped(&present),
        json!({"removed": 1, "is_modified": true})
    );
    assert!(
        present
            .set_cookie_header("session")
            .is_some_and(|header| header.contains("Max-Age=0")),
        "the last key gone, the cookie goes: {present:?}"
    );
    assert_eq!(dumped(&client.get("/dump").await)["values"], json!({}));
}

#[tokio::test]
async fn flashes_across_four_requests() {
    let mut client = Client::new(app::router(common::config()));

    // Round 1: none yet; add one.
    assert_eq!(client.get("/flash/take").await.body, "[]");
    client.get("/flash/add?msg=foo").await;

    // Round 2: the one, then none; add two, one with a level.
    let round2 = client.get("/flash/take").await;
    assert_eq!(round2.body, r#"[{"message":"foo","level":null}]"#);
    assert!(
        round2
            .set_cookie_header("session")
            .is_some_and(|header| header.contains("Max-Age=0")),
        "emptied by taking: the cookie goes"
    );
    assert_eq!(client.get("/flash/take").await.body, "[]");
    client.get("/flash/add?msg=bar").await;
    client.get("/flash/add?msg=baz&level=important").await;

    // Round 3: both, in order, with their levels.
    assert_eq!(
        client.get("/flash/take").await.body,
        r#"[{"message":"bar","level":null},{"message":"baz","level":"important"}]"#
    );

    // Round 4: empty again, and nothing to save.
    let round4 = client.get("/flash/take").await;
    assert_eq!(round4.body, "[]");
    assert!(round4.set_cookies.is_empty());
}

#[tokio::test]
async fn set_secure_cookie_then_get_secure_cookie() {
    async fn set(store: SessionStore) -> Result<SessionStore, SessionError> {
        let mut values = Map::new();
        values.insert("bar".into(), json!("baz"));
        store.set_secure_cookie("foo", values)?;
        Ok(store)
    }
    async fn merge(store: SessionStore) -> Result<SessionStore, SessionError> {
        let mut values = Map::new();
        values.insert("n".into(), json!(1));
        store.set_secure_cookie("foo", values)?;
        Ok(store)
    }
    async fn get_cookie(store: SessionStore) -> String {
        Value::from(store.get_secure_cookie("foo")).to_string()
    }
    let router = Router::new()
        .route("/set", get(set))
        .route("/merge", get(merge))
        .route("/get", get(get_cookie))
        .with_state(common::config());
    let mut client = Client::new(router);

    assert_eq!(client.get("/get").await.body, "null");
    let reply = client.get("/set").await;
    assert!(reply.cookie("foo").is_some());
    assert_eq!(client.get("/get").await.body, r#"{"bar":"baz"}"#);
    client.get("/merge").await;
    assert_eq!(client.get("/get").await.body, r#"{"bar":"baz","n":1}"#);
}

#[tokio::test]
async fn one_store_per_request_shared_by_every_extractor() {
    async fn handler(
        store: SessionStore,
        first: Session,
        second: Session,
        flash: axum_session_store::Flash,
    ) -> Result<(Session, String), SessionError> {
        first.insert("k", "from first")?;
        let seen_by_second: Option<String> = second.get("k")?;
        let seen_by_store: Option<String> = store.session::<DefaultSession>().await?.get("k")?;
        flash.info("hi");
        let flashes_in_first = first.contains_key("_flash");
        Ok((
            second,
            json!({
                "second": seen_by_second,
                "store": seen_by_store,
                "flash_in_first": flashes_in_first,
                "store_debug": format!("{store:?}"),
            })
            .to_string(),
        ))
    }
    let router = Router::new()
        .route("/", get(handler))
        .with_state(common::config());
    let mut client = Client::new(router);
    let reply = client.get("/").await;
    let body: Value = serde_json::from_str(&reply.body).unwrap();
    assert_eq!(body["second"], "from first");
    assert_eq!(body["store"], "from first");
    assert_eq!(body["flash_in_first"], true);
    assert_eq!(
        body["store_debug"],
        r#"SessionStore { sessions: ["session"], .. }"#
    );
    assert_eq!(reply.set_cookies.len(), 1, "one cookie for the one session");
}

#[tokio::test]
async fn setting_an_equal_value_still_modifies_and_clearing_an_empty_session_writes_nothing() {
    let mut client = Client::new(app::router(common::config()));
    client.get("/set?a=1").await;
    assert_eq!(
        client.get("/set?a=1").await.set_cookies.len(),
        1,
        "equal value"
    );

    // webapp2 saved `{}` here; like Django and tower-sessions, an empty session writes nothing.
    let mut fresh = Client::new(app::router(common::config()));
    let cleared = fresh.get("/clear").await;
    assert!(cleared.set_cookies.is_empty(), "{cleared:?}");
    assert_eq!(dumped(&fresh.get("/dump").await)["is_new"], true);
}

#[tokio::test]
async fn reads_never_modify_and_unmodified_sessions_set_no_cookie() {
    let mut client = Client::new(app::router(common::config()));
    let new = client.get("/touch").await;
    assert!(new.set_cookies.is_empty());
    assert_eq!(
        dumped(&new),
        json!({"is_new": true, "is_modified": false, "values": {}})
    );

    client.get("/set?a=1").await;
    let loaded = client.get("/touch").await;
    assert!(loaded.set_cookies.is_empty());
    assert_eq!(
        dumped(&loaded),
        json!({"is_new": false, "is_modified": false, "values": {"a": 1}})
    );
}

#[tokio::test]
async fn typed_values_round_trip() {
    #[derive(serde::Serialize, serde::Deserialize, PartialEq, Debug)]
    struct User {
        id: u64,
        name: String,
        roles: Vec<String>,
    }
    async fn put(session: Session) -> Result<Session, SessionError> {
        session.insert(
            "user",
            User {
                id: 7,
                name: "Ada".into(),
                roles: vec!["admin".into()],
            },
        )?;
        Ok(session)
    }
    async fn read(session: Session) -> Result<String, SessionError> {
        let user: Option<User> = session.get("user")?;
        Ok(format!("{user:?}"))
    }
    async fn wrong_type(session: Session) -> Result<String, SessionError> {
        let user: Option<u64> = session.get("user")?;
        Ok(format!("{user:?}"))
    }
    let router = Router::new()
        .route("/put", get(put))
        .route("/read", get(read))
        .route("/wrong", get(wrong_type))
        .with_state(common::config());
    let mut client = Client::new(router);
    client.get("/put").await;
    assert_eq!(
        client.get("/read").await.body,
        r#"Some(User { id: 7, name: "Ada", roles: ["admin"] })"#
    );
    let wrong = client.get("/wrong").await;
    assert_eq!(wrong.status, 500);
    assert_eq!(
        wrong.body, "Internal Server Error",
        "no details reach the client"
    );
}

#[tokio::test]
async fn unicode_empty_and_one_byte_values() {
    let mut client = Client::new(app::router(common::config()));
    client
        .get("/set?u=%C3%BC%E6%97%A5%E6%9C%AC%F0%9F%8E%89&empty=&one=x&%F0%9F%94%91=key")
        .await;
    assert_eq!(
        dumped(&client.get("/dump").await)["values"],
        json!({"u": "ü日本🎉", "empty": "", "one": "x", "🔑": "key"})
    );
}
