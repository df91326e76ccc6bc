//! The session layer: required for server-side sessions, optional for cookie sessions, and a
//! failed save never goes out as a success.

use crate::common;

use std::sync::Arc;

use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use axum_session_store::backend::{Changes, MemoryBackend, Record, Regenerated, Storage};
use axum_session_store::{
    BackendError, Session, SessionBackend, SessionConfig, SessionError, SessionId, SessionLayer,
    SessionName,
};
use common::failing_writes::FailingWrites;
use common::{app, dumped, Client, Logs};
use serde_json::json;
use time::Duration;

struct Cart;
impl SessionName for Cart {
    const NAME: &'static str = "cart";
}

/// The default config, with `Cart` kept in memory.
fn cart_config() -> SessionConfig {
    SessionConfig::builder()
        .secret_key(common::SECRET)
        .session_backend::<Cart>(MemoryBackend::new())
        .build()
        .unwrap()
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
        .with_state(cart_config());
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
    let config = cart_config();
    let router = Router::new()
        .route("/", get(add_to_cart))
        .layer(config.layer())
        .layer(config.layer())
        .with_state(config);
    let reply = Client::new(router).get("/").await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.set_cookies.len(), 1, "{:?}", reply.set_cookies);
}

#[tokio::test]
async fn a_failed_save_is_a_500_without_any_cookie_even_those_already_written() {
    struct Failing;
    impl SessionName for Failing {
        const NAME: &'static str = "failing";
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
        .session_backend::<Failing>(Storage::server(FailingWrites::default()))
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
        errors[0].contains(r#"backend "FailingWrites" failed to create the session"#),
        "{}",
        errors[0]
    );
    assert!(
        errors[0].contains("disk full"),
        "the cause is logged: {}",
        errors[0]
    );
}

/// A router on the memory backend whose `/race` deletes the session's record (as a logout in
/// another tab would) while the request runs, then changes the session; the client after
/// `/start`, and the record's id.
async fn deleted_under_the_request(
    (config, backend): (SessionConfig, MemoryBackend),
    layer: SessionLayer,
) -> (Client, SessionConfig, SessionId) {
    let logged_out_elsewhere = {
        let backend = backend.clone();
        move |session: Session| async move {
            // Another request (a logout in another tab) deletes the record meanwhile.
            let id = SessionId::parse(session.get::<String>("id")?.as_deref().unwrap()).unwrap();
            backend.delete(&id).await.unwrap();
            session.insert("late", true)?;
            Ok::<_, SessionError>(session)
        }
    };
    async fn remember_id(session: Session) -> Result<Session, SessionError> {
        session.insert("id", "placeholder")?;
        Ok(session)
    }
    let router = Router::new()
        .route("/start", get(remember_id))
        .route("/race", get(logged_out_elsewhere))
        .route(
            "/dump",
            get(|s: Session| async move { json!(s.keys()).to_string() }),
        )
        .layer(layer)
        .with_state(config.clone());
    let mut client = Client::new(router);
    client.get("/start").await;
    // Store the real id in the record so the handler can delete it.
    let sid = common::session_id_in(&config, "session", &client.cookie("session")).unwrap();
    let id = SessionId::parse(&sid).unwrap();
    let changes = Changes::new().set("id", json!(sid));
    assert!(backend
        .apply(&id, &changes, Duration::minutes(1))
        .await
        .unwrap());
    (client, config, id)
}

/// A config whose default session is kept in memory, and the memory.
fn memory_config() -> (SessionConfig, MemoryBackend) {
    let backend = MemoryBackend::new();
    let config = SessionConfig::builder()
        .secret_key(common::SECRET)
        .default_backend(backend.clone())
        .build()
        .unwrap();
    (config, backend)
}

#[tokio::test]
async fn a_record_deleted_while_the_request_ran_is_a_409_and_not_brought_back() {
    let (config, backend) = memory_config();
    let layer = config.layer();
    let (mut client, _, id) = deleted_under_the_request((config, backend.clone()), layer).await;
    let (logs, _capture) = Logs::capture();
    let reply = client.get("/race").await;
    assert_eq!(reply.status, 409, "a client conflict, not a server failure");
    assert!(
        reply.set_cookies.is_empty(),
        "the browser's cookie is left alone"
    );
    assert!(
        logs.lines_with("ERROR").is_empty(),
        "a conflict is not logged as an error: {:?}",
        logs.lines_with("ERROR")
    );
    assert!(backend.load(&id).await.unwrap().is_none(), "not re-created");
    assert_eq!(client.get("/dump").await.body, "[]");
}

#[tokio::test]
async fn on_conflict_answers_a_session_changed_under_the_request_without_a_cookie() {
    let seen = Arc::new(std::sync::Mutex::new(None));
    let (config, backend) = memory_config();
    let layer = config.layer().on_conflict({
        let seen = seen.clone();
        move |conflict| {
            *seen.lock().unwrap() = Some((
                conflict.session().to_owned(),
                conflict.method().clone(),
                conflict.uri().to_string(),
            ));
            // Even a handler that sets a session cookie cannot clobber the winner's.
            (
                [("set-cookie", "session=clobbered")],
                axum::response::Redirect::to("/welcome"),
            )
                .into_response()
        }
    });
    let (mut client, _, _) = deleted_under_the_request((config, backend), layer).await;
    let reply = client.get("/race").await;
    assert_eq!(reply.status, 303);
    assert!(reply.set_cookies.is_empty(), "{reply:?}");
    assert_eq!(
        seen.lock().unwrap().clone(),
        Some((
            "session".to_owned(),
            axum::http::Method::GET,
            "/race".to_owned()
        ))
    );
}

#[tokio::test]
async fn spawn_cleanup_deletes_expired_records_on_its_interval() {
    let backend = MemoryBackend::new();
    let config = SessionConfig::builder()
        .secret_key(common::SECRET)
        .default_backend(backend.clone())
        .server_session_ttl(Duration::milliseconds(200))
        .build()
        .unwrap();
    let mut client = Client::new(app::layered(config));
    client.get("/set?a=1").await;
    assert_eq!(backend.len(), 1);
    let task =
        axum_session_store::backend::spawn_cleanup(backend.clone(), Duration::milliseconds(100))
            .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    task.abort();
    assert!(backend.is_empty());
    assert_eq!(dumped(&client.get("/dump").await)["is_new"], true);
}

/// A failed request saves nothing (as Django and tower-sessions do): a 5xx response carries no
/// session cookie and writes no record, whether the handler returned the guard or not. Its own
/// status and body go out unchanged.
#[tokio::test]
async fn a_5xx_response_saves_nothing() {
    use axum::http::StatusCode;
    async fn fails_with_guard(
        session: Session,
        cart: Session<Cart>,
    ) -> Result<(StatusCode, Session, &'static str), SessionError> {
        session.insert("a", 1)?;
        cart.insert("item", 1)?;
        Ok((StatusCode::INTERNAL_SERVER_ERROR, session, "boom"))
    }
    async fn fails_without_guard(session: Session, cart: Session<Cart>) -> StatusCode {
        let _ = session.insert("a", 1);
        let _ = cart.insert("item", 1);
        StatusCode::SERVICE_UNAVAILABLE
    }
    let (counting, calls) = common::counting::Counting::new(MemoryBackend::new());
    let config = SessionConfig::builder()
        .secret_key(common::SECRET)
        .session_backend::<Cart>(Storage::with_user_index(counting))
        .build()
        .unwrap();
    let router = Router::new()
        .route("/guard", get(fails_with_guard))
        .route("/plain", get(fails_without_guard))
        .layer(config.layer())
        .with_state(config);
    let reply = Client::new(router.clone()).get("/guard").await;
    assert_eq!((reply.status.as_u16(), reply.body.as_str()), (500, "boom"));
    assert!(reply.set_cookies.is_empty(), "{reply:?}");
    let reply = Client::new(router).get("/plain").await;
    assert_eq!(reply.status, 503);
    assert!(reply.set_cookies.is_empty(), "{reply:?}");
    assert_eq!(calls.writes(), 0, "no record written");
}

/// A shared cache must never hand one visitor's session to another: a response that read a
/// session varies on `Cookie`, and one that sets a session cookie is `Cache-Control: private`
/// unless the handler chose its own caching.
#[tokio::test]
async fn session_responses_vary_on_cookie_and_are_private() {
    use axum::http::header::{CACHE_CONTROL, VARY};
    use axum::http::{HeaderMap, HeaderValue, Request};
    async fn own_headers(session: Session) -> (HeaderMap, Session) {
        session.insert("a", 1).unwrap();
        let mut headers = HeaderMap::new();
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
        headers.insert(VARY, HeaderValue::from_static("Accept-Encoding"));
        (headers, session)
    }
    let headers = |router: Router, uri: &'static str| async move {
        let request = Request::get(uri).body(axum::body::Body::empty()).unwrap();
        let response = tower::ServiceExt::oneshot(router, request).await.unwrap();
        let all = |name| {
            response
                .headers()
                .get_all(name)
                .iter()
                .map(|v| v.to_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        };
        (all(VARY), all(CACHE_CONTROL))
    };
    let config = common::config();
    for router in [app::router(config.clone()), app::layered(config.clone())] {
        // `/set` returns the guard: it reads and writes the session.
        assert_eq!(
            headers(router.clone(), "/set?a=1").await,
            (vec!["Cookie".to_owned()], vec!["private".to_owned()])
        );
    }
    let layered = app::layered(config.clone());
    // `/dump` only reads, without returning the guard: the layer marks it.
    assert_eq!(
        headers(layered.clone(), "/dump").await,
        (vec!["Cookie".to_owned()], vec![])
    );
    let plain = Router::new()
        .route("/hello", get(|| async { "hi" }))
        .route("/own", get(own_headers))
        .layer(config.layer())
        .with_state(config);
    assert_eq!(headers(plain.clone(), "/hello").await, (vec![], vec![]));
    let (vary, cache_control) = headers(plain, "/own").await;
    assert_eq!(
        cache_control,
        ["no-store"],
        "the handler's own caching stays"
    );
    assert!(
        vary.iter().any(|v| v.contains("Accept-Encoding"))
            && vary.iter().any(|v| v.contains("Cookie")),
        "{vary:?}"
    );
}

/// Middleware outside the layer that extracts a cookie session (`.layer(config.layer())` then
/// `.layer(from_fn(auth))`): the layer adopts the store the middleware made, so the handler's
/// server-side session works and the middleware's cookie changes are saved.
#[tokio::test]
async fn the_layer_adopts_a_store_made_by_middleware_outside_it() {
    use axum::extract::Request;
    use axum::middleware::{from_fn_with_state, Next};
    use axum::response::Response;
    async fn auth(session: Session, request: Request, next: Next) -> Response {
        let visits: u32 = session.get("visits").unwrap().unwrap_or(0) + 1;
        session.insert("visits", visits).unwrap();
        next.run(request).await
    }
    async fn handler(session: Session, cart: Session<Cart>) -> Result<String, SessionError> {
        let items: u32 = cart.get("items")?.unwrap_or(0) + 1;
        cart.insert("items", items)?;
        Ok(format!("{} {items}", session.get_value("visits").unwrap()))
    }
    let config = cart_config();
    let router = Router::new()
        .route("/", get(handler))
        .layer(config.layer())
        .layer(from_fn_with_state(config.clone(), auth))
        .with_state(config);
    let mut client = Client::new(router);
    let first = client.get("/").await;
    assert_eq!((first.status.as_u16(), first.body.as_str()), (200, "1 1"));
    assert_eq!(first.set_cookies.len(), 2, "{first:?}");
    assert_eq!(client.get("/").await.body, "2 2");
}

/// The same order with a server-side session in the middleware cannot work (the middleware
/// runs before the layer that would await its backend): a 500 whose log names the fix.
#[tokio::test]
async fn a_server_session_in_middleware_outside_the_layer_names_the_fix() {
    use axum::extract::Request;
    use axum::middleware::{from_fn_with_state, Next};
    use axum::response::Response;
    async fn auth(_cart: Session<Cart>, request: Request, next: Next) -> Response {
        next.run(request).await
    }
    let config = cart_config();
    let router = Router::new()
        .route("/", get(|| async { "ok" }))
        .layer(config.layer())
        .layer(from_fn_with_state(config.clone(), auth))
        .with_state(config);
    let (logs, _guard) = Logs::capture();
    let reply = Client::new(router).get("/").await;
    assert_eq!(reply.status, 500);
    let errors = logs.lines_with("ERROR");
    assert!(
        errors
            .iter()
            .any(|line| line.contains("outside every middleware that extracts a session")),
        "{}",
        logs.text()
    );
}

/// A backend whose first `collisions` creates and moves say the fresh id is taken, as a
/// colliding random generator would make them.
#[derive(Debug)]
struct Colliding {
    inner: MemoryBackend,
    collisions: std::sync::atomic::AtomicUsize,
}

impl Colliding {
    fn new(collisions: usize) -> Self {
        Self {
            inner: MemoryBackend::new(),
            collisions: collisions.into(),
        }
    }

    /// True while collisions are left to report, counting one down.
    fn collide(&self) -> bool {
        use std::sync::atomic::Ordering;
        self.collisions
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
    }
}

impl SessionBackend for Colliding {
    async fn load(&self, id: &SessionId) -> Result<Option<Record>, BackendError> {
        self.inner.load(id).await
    }
    async fn create(
        &self,
        id: &SessionId,
        record: &Record,
        ttl: Duration,
    ) -> Result<bool, BackendError> {
        if self.collide() {
            return Ok(false);
        }
        self.inner.create(id, record, ttl).await
    }
    async fn apply(
        &self,
        id: &SessionId,
        changes: &Changes,
        ttl: Duration,
    ) -> Result<bool, BackendError> {
        self.inner.apply(id, changes, ttl).await
    }
    async fn regenerate(
        &self,
        old: &SessionId,
        new: &SessionId,
        changes: &Changes,
        ttl: Duration,
    ) -> Result<Regenerated, BackendError> {
        if self.collide() {
            return Ok(Regenerated::Taken);
        }
        self.inner.regenerate(old, new, changes, ttl).await
    }
    async fn delete(&self, id: &SessionId) -> Result<(), BackendError> {
        self.inner.delete(id).await
    }
}

fn colliding_router(collisions: usize) -> (Router, Arc<Colliding>) {
    let backend = Arc::new(Colliding::new(collisions));
    let config = SessionConfig::builder()
        .secret_key(common::SECRET)
        .default_backend(Storage::server(backend.clone()))
        .build()
        .unwrap();
    (app::layered(config), backend)
}

/// A taken fresh id is retried with another (a warning each time); after three taken ids the
/// save fails with `NoFreshId`, and nothing is sent.
#[tokio::test]
async fn taken_fresh_ids_are_retried_then_refused() {
    let (logs, _guard) = Logs::capture();
    let (router, _) = colliding_router(2);
    let mut client = Client::new(router);
    let reply = client.get("/set?a=1").await;
    assert_eq!(reply.status, 200, "the third id is free");
    assert_eq!(logs.lines_with("WARN").len(), 2, "{}", logs.text());
    assert_eq!(
        dumped(&client.get("/dump").await)["values"],
        json!({"a": 1})
    );

    let (router, backend) = colliding_router(3);
    let reply = Client::new(router).get("/set?a=1").await;
    assert_eq!(reply.status, 500);
    assert!(reply.set_cookies.is_empty());
    assert!(backend.inner.is_empty(), "nothing was created");
    assert!(
        logs.text().contains("3 fresh ids were all taken"),
        "{}",
        logs.text()
    );

    // The same for a move to a new id: retried, and the data moves once a free id is found.
    let (router, backend) = colliding_router(0);
    let mut client = Client::new(router);
    client.get("/set?user=ada").await;
    backend
        .collisions
        .store(2, std::sync::atomic::Ordering::SeqCst);
    let reply = client.get("/regenerate").await;
    assert_eq!(reply.status, 200);
    assert!(reply.cookie("session").is_some());
    assert_eq!(
        dumped(&client.get("/dump").await)["values"],
        json!({"user": "ada"})
    );
}
