//! The session layer: required for server-side sessions, optional for cookie sessions, and a
//! failed save never goes out as a success.

mod common;

use std::sync::Arc;

use axum::routing::get;
use axum::Router;
use axum_session_store::{
    BackendError, BoxFuture, Changes, MemoryBackend, Record, Session, SessionBackend,
    SessionConfig, SessionError, SessionId, SessionName,
};
use common::{app, dumped, Client, Logs};
use serde_json::json;
use time::Duration;

struct Cart;
impl SessionName for Cart {
    const NAME: &'static str = "cart";
    const BACKEND: &'static str = "memory";
}

async fn add_to_cart(cart: Session<Cart>) -> Result<Session<Cart>, SessionError> {
    cart.insert("item", 1)?;
    Ok(cart)
}

#[tokio::test]
async fn a_server_session_without_the_layer_is_a_500_whose_log_names_the_fix() {
    let (logs, _guard) = Logs::capture();
    let router = Router::new()
        .route("/", get(add_to_cart))
        .with_state(common::config());
    let reply = Client::new(router).get("/").await;
    assert_eq!(
        (reply.status.as_u16(), reply.body.as_str()),
        (500, "Internal Server Error")
    );
    assert!(reply.set_cookies.is_empty());
    let errors = logs.lines_with("ERROR");
    assert_eq!(errors.len(), 1, "{}", logs.text());
    assert!(
        errors[0].contains("add `.layer(config.layer())`"),
        "{}",
        errors[0]
    );
}

#[tokio::test]
async fn with_the_layer_cookie_sessions_are_saved_without_returning_the_guard() {
    async fn forgetful(session: Session) -> &'static str {
        session.insert("saved", true).unwrap();
        "not returning the session"
    }
    let config = common::config();
    let router = Router::new()
        .route("/", get(forgetful))
        .route(
            "/dump",
            get(|s: Session| async move { s.get_value("saved").unwrap_or_default().to_string() }),
        )
        .layer(config.layer())
        .with_state(config);
    let mut client = Client::new(router);
    assert_eq!(client.get("/").await.set_cookies.len(), 1);
    assert_eq!(client.get("/dump").await.body, "true");
}

#[tokio::test]
async fn with_the_layer_a_returned_guard_still_writes_one_cookie() {
    let config = common::config();
    let mut client = Client::new(app::layered(config));
    let reply = client.get("/set?a=1").await;
    assert_eq!(reply.set_cookies.len(), 1, "{:?}", reply.set_cookies);
}

#[tokio::test]
async fn nested_layers_save_once() {
    let config = common::config();
    let router = Router::new()
        .route("/", get(add_to_cart))
        .layer(config.layer())
        .layer(config.layer())
        .with_state(config);
    let reply = Client::new(router).get("/").await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.set_cookies.len(), 1, "{:?}", reply.set_cookies);
}

/// A backend whose writes fail, as a server that went away would.
#[derive(Debug, Default)]
struct FailingWrites(MemoryBackend);

impl SessionBackend for FailingWrites {
    fn load<'a>(
        &'a self,
        id: &'a SessionId,
    ) -> BoxFuture<'a, Result<Option<Record>, BackendError>> {
        self.0.load(id)
    }
    fn create<'a>(
        &'a self,
        _: &'a SessionId,
        _: &'a Record,
        _: Duration,
    ) -> BoxFuture<'a, Result<bool, BackendError>> {
        Box::pin(async { Err(BackendError::msg("disk full")) })
    }
    fn apply<'a>(
        &'a self,
        _: &'a SessionId,
        _: &'a Changes,
        _: Duration,
    ) -> BoxFuture<'a, Result<bool, BackendError>> {
        Box::pin(async { Err(BackendError::msg("disk full")) })
    }
    fn delete<'a>(&'a self, id: &'a SessionId) -> BoxFuture<'a, Result<(), BackendError>> {
        self.0.delete(id)
    }
    fn delete_expired(&self) -> BoxFuture<'_, Result<u64, BackendError>> {
        self.0.delete_expired()
    }
}

#[tokio::test]
async fn a_failed_save_is_a_500_without_any_cookie_even_those_already_written() {
    struct Failing;
    impl SessionName for Failing {
        const NAME: &'static str = "failing";
        const BACKEND: &'static str = "failing";
    }
    async fn handler(
        cookie: Session,
        failing: Session<Failing>,
    ) -> Result<(Session, &'static str), SessionError> {
        cookie.insert("a", 1)?; // saved by the guard before the layer runs
        failing.insert("b", 2)?;
        Ok((cookie, "looks fine"))
    }
    let config = SessionConfig::builder()
        .secret_key(common::SECRET)
        .backend("failing", FailingWrites::default())
        .build()
        .unwrap();
    let (logs, _guard) = Logs::capture();
    let router = Router::new()
        .route("/", get(handler))
        .layer(config.layer())
        .with_state(config);
    let reply = Client::new(router).get("/").await;
    assert_eq!(
        (reply.status.as_u16(), reply.body.as_str()),
        (500, "Internal Server Error")
    );
    assert!(reply.set_cookies.is_empty(), "{:?}", reply.set_cookies);
    let errors = logs.lines_with("ERROR");
    assert_eq!(errors.len(), 1, "{}", logs.text());
    assert!(
        errors[0].contains(r#"backend "failing" failed to create the session"#),
        "{}",
        errors[0]
    );
    assert!(
        errors[0].contains("disk full"),
        "the cause is logged: {}",
        errors[0]
    );
}

#[tokio::test]
async fn a_record_deleted_while_the_request_ran_is_not_brought_back() {
    async fn logged_out_elsewhere(session: Session) -> Result<Session, SessionError> {
        // Another request (a logout in another tab) deletes the record meanwhile.
        let backend = session.store().config().server_backend("memory").unwrap();
        let id = SessionId::parse(session.get::<String>("id")?.as_deref().unwrap()).unwrap();
        backend.delete(&id).await.unwrap();
        session.insert("late", true)?;
        Ok(session)
    }
    async fn remember_id(session: Session) -> Result<Session, SessionError> {
        session.insert("id", "placeholder")?;
        Ok(session)
    }
    let config = SessionConfig::builder()
        .secret_key(common::SECRET)
        .default_backend("memory")
        .build()
        .unwrap();
    let router = Router::new()
        .route("/start", get(remember_id))
        .route("/race", get(logged_out_elsewhere))
        .route(
            "/dump",
            get(|s: Session| async move { json!(s.keys()).to_string() }),
        )
        .layer(config.layer())
        .with_state(config.clone());
    let mut client = Client::new(router);
    client.get("/start").await;
    // Store the real id in the record so the handler can delete it.
    let sid = common::session_id_in(&config, "session", &client.jar["session"]).unwrap();
    let id = SessionId::parse(&sid).unwrap();
    let backend = config.server_backend("memory").unwrap();
    let changes = Changes {
        set: vec![("id".into(), json!(sid))],
        ..Changes::default()
    };
    assert!(backend
        .apply(&id, &changes, Duration::minutes(1))
        .await
        .unwrap());

    let reply = client.get("/race").await;
    assert_eq!(reply.status, 500);
    assert!(backend.load(&id).await.unwrap().is_none(), "not re-created");
    assert_eq!(client.get("/dump").await.body, "[]");
}

#[tokio::test]
async fn spawn_cleanup_deletes_expired_records_on_its_interval() {
    let backend = Arc::new(MemoryBackend::new());
    let config = SessionConfig::builder()
        .secret_key(common::SECRET)
        .shared_backend("memory", backend.clone())
        .default_backend("memory")
        .server_session_ttl(Duration::milliseconds(200))
        .build()
        .unwrap();
    let mut client = Client::new(app::layered(config));
    client.get("/set?a=1").await;
    assert_eq!(backend.len(), 1);
    let task =
        axum_session_store::spawn_cleanup(backend.clone(), Duration::milliseconds(100)).unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    task.abort();
    assert!(backend.is_empty());
    assert_eq!(dumped(&client.get("/dump").await)["is_new"], true);
}
