//! What the save guard writes: several sessions in one request, first-use order, invalidation,
//! per-session cookie attributes, errors that never look like success, and the logs.

use crate::common;

use axum::routing::get;
use axum::Router;
use axum_session_store::backend::MemoryBackend;
use axum_session_store::backend::Storage;
use axum_session_store::cookie::CookieArgs;
use axum_session_store::{
    ConfigError, DefaultSession, Flash, Session, SessionConfig, SessionError, SessionName,
    SessionStore,
};
use common::{app, dumped, get_with_cookie, Client, Logs};
use serde_json::json;

struct Cart;
impl SessionName for Cart {
    const NAME: &'static str = "cart";
}

fn config_with_cart_args() -> SessionConfig {
    SessionConfig::builder()
        .secret_key(common::SECRET)
        .cookie_args(CookieArgs::default().domain("example.com"))
        .session_cookie_args("cart", CookieArgs::default().path("/shop"))
        .build()
        .unwrap()
}

async fn three_sessions(store: SessionStore) -> Result<SessionStore, SessionError> {
    // First use: cart, then the run-time named one, then the default session. (Extracting a
    // `Session<N>` counts as its first use: extractors run before the handler body.)
    store.session::<Cart>().await?.insert("items", [1, 2])?;
    store.get_session("prefs").await?.insert("theme", "dark")?;
    store
        .session::<DefaultSession>()
        .await?
        .insert("user", "ada")?;
    Ok(store)
}

async fn read_three(cart: Session<Cart>, store: SessionStore, session: Session) -> String {
    let prefs = store.get_session("prefs").await.unwrap();
    json!({
        "cart": cart.get_value("items"),
        "prefs": prefs.get_value("theme"),
        "user": session.get_value("user"),
    })
    .to_string()
}

#[tokio::test]
async fn several_named_sessions_saved_in_first_use_order_with_their_own_attributes() {
    let router = Router::new()
        .route("/write", get(three_sessions))
        .route("/read", get(read_three))
        .with_state(config_with_cart_args());
    let mut client = Client::new(router);
    let reply = client.get("/write").await;
    let names: Vec<&str> = reply
        .set_cookies
        .iter()
        .map(|h| h.split('=').next().unwrap())
        .collect();
    assert_eq!(names, ["cart", "prefs", "session"]);

    let cart = reply.set_cookie_header("cart").unwrap();
    assert!(
        cart.contains("Path=/shop") && !cart.contains("Domain"),
        "own args: {cart}"
    );
    let session = reply.set_cookie_header("session").unwrap();
    assert!(
        session.contains("Path=/") && session.contains("Domain=example.com"),
        "{session}"
    );

    assert_eq!(
        client.get("/read").await.body,
        json!({"cart": [1, 2], "prefs": "dark", "user": "ada"}).to_string()
    );
}

#[tokio::test]
async fn returning_two_guards_writes_each_cookie_once() {
    async fn both(
        session: Session,
        flash: Flash,
    ) -> Result<(Session, Flash, &'static str), SessionError> {
        session.insert("a", 1)?;
        flash.info("hello");
        Ok((session, flash, "ok"))
    }
    let router = Router::new()
        .route("/", get(both))
        .with_state(common::config());
    let reply = Client::new(router).get("/").await;
    assert_eq!(reply.set_cookies.len(), 1, "{:?}", reply.set_cookies);
}

#[tokio::test]
async fn invalidate_expires_the_cookie_with_the_same_path_and_domain() {
    let config = SessionConfig::builder()
        .secret_key(common::SECRET)
        .cookie_args(CookieArgs::default().domain("example.com").path("/app"))
        .build()
        .unwrap();
    let mut client = Client::new(app::router(config));
    client.get("/set?user=ada").await;
    let reply = client.get("/invalidate").await;
    let removal = reply.set_cookie_header("session").unwrap();
    for part in [
        "session=;",
        "Max-Age=0",
        "Path=/app",
        "Domain=example.com",
        "Secure",
        "HttpOnly",
    ] {
        assert!(removal.contains(part), "{removal} lacks {part}");
    }
    assert!(client.jar.is_empty(), "the browser deletes it");
    assert_eq!(dumped(&client.get("/dump").await)["is_new"], true);
}

#[tokio::test]
async fn keys_set_after_invalidate_start_a_new_session() {
    async fn logout_then_flash(session: Session) -> Session {
        session.invalidate();
        session.add_flash("Logged out", None);
        session
    }
    let router = Router::new()
        .route("/", get(logout_then_flash))
        .with_state(common::config());
    let mut client = Client::new(router);
    let reply = client.get("/").await;
    let cookie = reply.cookie("session").unwrap();
    assert!(
        !cookie.is_empty(),
        "a new session cookie, not a removal: {:?}",
        reply.set_cookies
    );
}

/// A backend is chosen by value, so none can be misspelt (a string does not compile, see the
/// `compile_fail` example of `SessionConfigBuilder::session_backend`); what is left to get
/// wrong, two backends for one session, fails at `build()`, not on a request.
#[tokio::test]
async fn a_session_given_two_backends_fails_at_build_naming_it() {
    let twice = SessionConfig::builder()
        .secret_key(common::SECRET)
        .session_backend::<Cart>(MemoryBackend::new())
        .session_backend::<Cart>(Storage::private_cookie())
        .build()
        .unwrap_err();
    assert_eq!(
        twice,
        ConfigError::DuplicateSession {
            name: "cart".into()
        }
    );
    assert!(
        twice.to_string().contains("was given a backend twice"),
        "{twice}"
    );
    let default_twice = SessionConfig::builder()
        .secret_key(common::SECRET)
        .default_backend(MemoryBackend::new())
        .session_backend::<DefaultSession>(Storage::signed_cookie())
        .build()
        .unwrap_err();
    assert_eq!(
        default_twice,
        ConfigError::DuplicateSession {
            name: "session".into()
        }
    );
}

#[tokio::test]
async fn an_invalid_run_time_name_is_a_500() {
    async fn handler(store: SessionStore) -> Result<&'static str, SessionError> {
        let _session = store.get_session("no spaces allowed").await?;
        Ok("unreachable")
    }
    let router = Router::new()
        .route("/", get(handler))
        .with_state(common::config());
    assert_eq!(Client::new(router).get("/").await.status, 500);
}

#[tokio::test]
async fn a_rejected_cookie_logs_one_warning_without_the_value_or_key() {
    let router = app::router(common::config());
    let cookie = Client::new(router.clone())
        .get("/set?user=ada")
        .await
        .cookie("session")
        .unwrap();
    let mut forged = cookie.clone().into_bytes();
    forged[3] ^= 1;
    let forged = String::from_utf8(forged).unwrap();

    let (logs, _guard) = Logs::capture();
    let reply = get_with_cookie(&router, "/dump", &format!("session={forged}")).await;
    assert_eq!(dumped(&reply)["is_new"], true);
    let warnings = logs.lines_with("WARN");
    assert_eq!(warnings.len(), 1, "{}", logs.text());
    assert!(
        warnings[0].contains("session cookie rejected"),
        "{}",
        warnings[0]
    );
    let text = logs.text();
    for secret_part in forged
        .split('|')
        .chain([std::str::from_utf8(common::SECRET).unwrap()])
    {
        assert!(
            !text.contains(secret_part),
            "log carries {secret_part:?}: {text}"
        );
    }
}

#[tokio::test]
async fn a_modified_session_that_is_never_returned_is_not_saved_and_is_logged() {
    async fn forgetful(session: Session) -> &'static str {
        session.insert("lost", true).unwrap();
        "forgot to return the session"
    }
    let (logs, _guard) = Logs::capture();
    let router = Router::new()
        .route("/", get(forgetful))
        .with_state(common::config());
    let reply = Client::new(router).get("/").await;
    assert!(reply.set_cookies.is_empty());
    let warnings = logs.lines_with("WARN");
    assert_eq!(warnings.len(), 1, "{}", logs.text());
    assert!(warnings[0].contains("never saved") && warnings[0].contains("config.layer()"));
}

#[tokio::test]
async fn a_value_too_deep_to_read_back_is_refused_at_save() {
    async fn deep(session: Session) -> Result<Session, SessionError> {
        let nested = (0..=axum_session_store::session::MAX_VALUE_DEPTH)
            .fold(json!(1), |inner, _| json!([inner]));
        session.insert("tree", nested)?;
        Ok(session)
    }
    for (backend, storage) in common::storages() {
        let config = common::config_on(storage);
        let (logs, _guard) = Logs::capture();
        let router = Router::new()
            .route("/", get(deep))
            .layer(config.layer())
            .with_state(config);
        let reply = Client::new(router).get("/").await;
        assert_eq!(reply.status, 500, "{backend}");
        assert!(reply.set_cookies.is_empty(), "{backend}");
        assert!(
            logs.text()
                .contains(r#"the value under key "tree" nests deeper than 100 levels"#),
            "{backend}: {}",
            logs.text()
        );
    }
}

/// Log assertions hold whatever other tests run beside them: an event whose callsite another
/// thread reached first, with no capture active there, is still captured here. (tracing caches
/// each callsite's interest process-wide on first use; a thread-local subscriber alone lets a
/// test that logs nothing pin that cache to "never", which made the test above flaky.)
#[test]
fn a_capture_sees_events_whose_callsite_another_thread_reached_first() {
    fn emit() {
        tracing::error!("probe event");
    }
    let (logs, _guard) = Logs::capture();
    std::thread::spawn(emit).join().unwrap();
    emit();
    assert!(logs.text().contains("probe event"), "{:?}", logs.text());
}

/// An attacker does not control how much is logged: a thousand forged cookies give one
/// warning (with a count, a minute later) and debug lines for the rest.
#[tokio::test]
async fn a_flood_of_forged_cookies_logs_one_warning() {
    let router = app::router(common::config());
    let (logs, _guard) = Logs::capture();
    for i in 0..1000 {
        let reply = get_with_cookie(&router, "/dump", &format!("session=forged{i}")).await;
        assert_eq!(reply.status, 200);
    }
    let warnings = logs.lines_with("WARN");
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(warnings[0].contains("suppressed=0"), "{}", warnings[0]);
    let debug = logs
        .lines_with("DEBUG")
        .into_iter()
        .filter(|line| line.contains("session cookie rejected"))
        .count();
    assert_eq!(debug, 999);
}

/// A request may open at most `max_sessions_per_request` sessions (default 8): a handler that
/// names sessions from its input cannot be made to plant hundreds of cookies.
#[tokio::test]
async fn a_request_opens_at_most_the_configured_number_of_sessions() {
    async fn many(
        store: SessionStore,
        axum::extract::Path(count): axum::extract::Path<usize>,
    ) -> Result<SessionStore, SessionError> {
        for i in 0..count {
            store.get_session(&format!("s{i}")).await?.insert("n", i)?;
        }
        Ok(store)
    }
    let router = Router::new()
        .route("/{count}", get(many))
        .with_state(common::config());
    let reply = Client::new(router.clone()).get("/8").await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.set_cookies.len(), 8);

    let (logs, _guard) = Logs::capture();
    let reply = Client::new(router).get("/20").await;
    assert_eq!(reply.status, 500);
    assert!(reply.set_cookies.is_empty(), "{reply:?}");
    assert!(
        logs.text().contains("max_sessions_per_request"),
        "{}",
        logs.text()
    );

    // The limit is the config's to choose.
    let config = SessionConfig::builder()
        .secret_key(common::SECRET)
        .max_sessions_per_request(20)
        .build()
        .unwrap();
    let router = Router::new()
        .route("/{count}", get(many))
        .with_state(config);
    assert_eq!(Client::new(router).get("/20").await.set_cookies.len(), 20);
}
