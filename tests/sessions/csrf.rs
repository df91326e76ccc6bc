//! CSRF protection from the session: a token masked afresh per response, checked by the layer
//! on unsafe methods, from the form field or the header, and bound to its session.

use axum::body::Body;
use axum::http::header::{CONTENT_TYPE, COOKIE};
use axum::http::{Request, StatusCode};
use axum::routing::get;
use axum::{Form, Router};
use axum_session_store::backend::MemoryBackend;
use axum_session_store::csrf::{CsrfLayer, CsrfToken};
use axum_session_store::{Session, SessionConfig};
use serde::Deserialize;

use crate::common::{self, send, Client, Reply};

#[derive(Deserialize)]
struct Comment {
    text: String,
}

async fn form(csrf: CsrfToken) -> String {
    csrf.to_string()
}

/// The handler still reads the form the layer looked into.
async fn post(Form(comment): Form<Comment>) -> String {
    format!("saved {}", comment.text)
}

async fn login(session: Session) -> Session {
    session.regenerate_id();
    session
}

fn router(config: SessionConfig) -> Router {
    Router::new()
        .route("/form", get(form).post(post))
        .route("/login", get(login))
        .layer(CsrfLayer::new(config.clone()))
        .layer(config.layer())
        .with_state(config)
}

/// A client that has loaded the form, and its token.
async fn with_token(router: &Router) -> (Client, String) {
    let mut client = Client::new(router.clone());
    let token = client.get("/form").await.body;
    assert_eq!(token.len(), 86, "{token}");
    (client, token)
}

/// `POST /form` with `body` as a urlencoded form, the client's cookies, and `header` as
/// `X-CSRF-Token` when given.
async fn post_form(client: &Client, router: &Router, body: String, header: Option<&str>) -> Reply {
    let header = header.map(|token| ("x-csrf-token", token));
    post_with_headers(client, router, body, header.as_slice()).await
}

/// `POST /form` with `body` as a urlencoded form, the client's cookies, and `headers`.
async fn post_with_headers(
    client: &Client,
    router: &Router,
    body: String,
    headers: &[(&str, &str)],
) -> Reply {
    let mut request =
        Request::post("/form").header(CONTENT_TYPE, "application/x-www-form-urlencoded");
    if let Some(cookie) = client.jar.header() {
        request = request.header(COOKIE, cookie.clone());
    }
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    send(router, request.body(Body::from(body)).unwrap()).await
}

#[tokio::test]
async fn a_valid_token_in_the_form_or_the_header_passes() {
    let router = router(common::config());
    let (client, token) = with_token(&router).await;
    let reply = post_form(
        &client,
        &router,
        format!("text=hi&csrf_token={token}"),
        None,
    )
    .await;
    assert_eq!(
        (reply.status, reply.body.as_str()),
        (StatusCode::OK, "saved hi")
    );
    let reply = post_form(&client, &router, "text=there".into(), Some(&token)).await;
    assert_eq!(
        (reply.status, reply.body.as_str()),
        (StatusCode::OK, "saved there")
    );
}

#[tokio::test]
async fn tokens_differ_on_every_page_and_all_of_them_pass() {
    let router = router(common::config());
    let (mut client, first) = with_token(&router).await;
    let second = client.get("/form").await.body;
    assert_ne!(first, second, "masked afresh (BREACH)");
    for token in [&first, &second] {
        let reply = post_form(&client, &router, format!("text=a&csrf_token={token}"), None).await;
        assert_eq!(reply.status, StatusCode::OK);
    }
}

#[tokio::test]
async fn a_missing_or_wrong_token_is_403_and_the_handler_never_runs() {
    let router = router(common::config());
    let (client, token) = with_token(&router).await;
    let reply = post_form(&client, &router, "text=hi".into(), None).await;
    assert_eq!(
        (reply.status, reply.body.as_str()),
        (StatusCode::FORBIDDEN, "Forbidden: CSRF token missing")
    );
    let mut wrong = token.clone().into_bytes();
    wrong[10] = if wrong[10] == b'A' { b'B' } else { b'A' };
    let wrong = String::from_utf8(wrong).unwrap();
    for body in [
        format!("text=hi&csrf_token={wrong}"),
        "text=hi&csrf_token=".into(),
    ] {
        let reply = post_form(&client, &router, body, None).await;
        assert_eq!(
            (reply.status, reply.body.as_str()),
            (StatusCode::FORBIDDEN, "Forbidden: CSRF token invalid")
        );
    }
    let reply = post_form(&client, &router, "text=hi".into(), Some("not a token")).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    // Without any session at all.
    let anonymous = Client::new(router.clone());
    let reply = post_form(
        &anonymous,
        &router,
        format!("text=hi&csrf_token={token}"),
        None,
    )
    .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_token_replayed_from_another_session_is_refused() {
    let router = router(common::config());
    let (_attacker, attackers_token) = with_token(&router).await;
    let (victim, _) = with_token(&router).await;
    let reply = post_form(
        &victim,
        &router,
        format!("text=evil&csrf_token={attackers_token}"),
        None,
    )
    .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn the_secret_rotates_with_regenerate_id() {
    let config = SessionConfig::builder()
        .secret_key(common::SECRET)
        .default_backend(MemoryBackend::new())
        .build()
        .unwrap();
    let router = router(config);
    let (mut client, before) = with_token(&router).await;
    client.get("/login").await;
    let reply = post_form(
        &client,
        &router,
        format!("text=a&csrf_token={before}"),
        None,
    )
    .await;
    assert_eq!(
        reply.status,
        StatusCode::FORBIDDEN,
        "a token from before the login"
    );
    let after = client.get("/form").await.body;
    let reply = post_form(&client, &router, format!("text=a&csrf_token={after}"), None).await;
    assert_eq!(reply.status, StatusCode::OK);
}

#[tokio::test]
async fn safe_methods_pass_without_a_token() {
    let router = router(common::config());
    let reply = Client::new(router).get("/form").await;
    assert_eq!(reply.status, StatusCode::OK);
}

/// `POST /form` with a valid token in the form, the client's cookies, and `headers`.
async fn post_from(
    client: &Client,
    router: &Router,
    token: &str,
    headers: &[(&str, &str)],
) -> Reply {
    post_with_headers(
        client,
        router,
        format!("text=hi&csrf_token={token}"),
        headers,
    )
    .await
}

#[tokio::test]
async fn a_request_from_another_origin_is_refused_whatever_its_token() {
    let router = router(common::config());
    let (client, token) = with_token(&router).await;
    let host = ("host", "shop.example.com");
    for (headers, expected) in [
        (
            vec![host, ("origin", "https://shop.example.com")],
            StatusCode::OK,
        ),
        (
            vec![host, ("origin", "https://evil.example.com")],
            StatusCode::FORBIDDEN,
        ),
        (vec![host, ("origin", "null")], StatusCode::FORBIDDEN),
        (
            vec![host, ("sec-fetch-site", "cross-site")],
            StatusCode::FORBIDDEN,
        ),
        (
            vec![
                host,
                ("sec-fetch-site", "same-origin"),
                ("origin", "https://shop.example.com"),
            ],
            StatusCode::OK,
        ),
        (
            vec![host, ("referer", "https://evil.example.com/form")],
            StatusCode::FORBIDDEN,
        ),
        (
            vec![host, ("referer", "https://shop.example.com/form")],
            StatusCode::OK,
        ),
        // Neither header (an old client): the token decides.
        (vec![host], StatusCode::OK),
    ] {
        let reply = post_from(&client, &router, &token, &headers).await;
        assert_eq!(reply.status, expected, "{headers:?}: {reply:?}");
        if expected == StatusCode::FORBIDDEN {
            assert!(!reply.body.contains("saved"), "the handler never ran");
        }
    }
}

#[tokio::test]
async fn trusted_origins_pass_the_origin_check() {
    let config = common::config();
    let router = Router::new()
        .route("/form", get(form).post(post))
        .layer(CsrfLayer::new(config.clone()).trusted_origins(["https://app.example.org"]))
        .layer(config.layer())
        .with_state(config);
    let (client, token) = with_token(&router).await;
    let host = ("host", "api.example.com");
    let trusted = post_from(
        &client,
        &router,
        &token,
        &[host, ("origin", "https://app.example.org")],
    )
    .await;
    assert_eq!(trusted.status, StatusCode::OK);
    let other = post_from(
        &client,
        &router,
        &token,
        &[host, ("origin", "https://app.example.net")],
    )
    .await;
    assert_eq!(other.status, StatusCode::FORBIDDEN);
}

/// Login CSRF: a sibling subdomain plants the attacker's own session cookie first (the first
/// of two same-named cookies counts) and posts the attacker's own, valid, token. The origin
/// gives it away.
#[tokio::test]
async fn a_planted_session_with_its_own_token_is_refused_by_origin() {
    let router = router(common::config());
    let (attacker, token) = with_token(&router).await;
    let (victim, _) = with_token(&router).await;
    let cookies = format!(
        "session={}; session={}",
        attacker.cookie("session"),
        victim.cookie("session")
    );
    let request = |origin: &str| {
        Request::post("/form")
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(COOKIE, cookies.clone())
            .header("host", "shop.example.com")
            .header("origin", origin.to_owned())
            .body(Body::from(format!("text=hi&csrf_token={token}")))
            .unwrap()
    };
    let reply = send(&router, request("https://evil.example.com")).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN, "{reply:?}");
}

#[tokio::test]
async fn a_session_without_a_secret_is_refused_before_its_body_is_read() {
    let router = router(common::config());
    // No token was ever made for this client, and the form is over the 1 MiB the layer reads.
    let client = Client::new(router.clone());
    let huge = format!("text={}", "x".repeat(2 * 1024 * 1024));
    let mut request =
        Request::post("/form").header(CONTENT_TYPE, "application/x-www-form-urlencoded");
    if let Some(cookie) = client.jar.header() {
        request = request.header(COOKIE, cookie.clone());
    }
    let reply = send(&router, request.body(Body::from(huge)).unwrap()).await;
    assert_eq!(
        reply.status,
        StatusCode::FORBIDDEN,
        "not 413: the body was never read"
    );
}

#[tokio::test]
async fn form_media_types_match_without_regard_to_case() {
    let config = common::config();
    // A handler that reads the body as it comes (axum's `Form` is itself case-sensitive).
    let router = Router::new()
        .route("/form", get(form).post(|body: String| async move { body }))
        .layer(CsrfLayer::new(config.clone()))
        .layer(config.layer())
        .with_state(config);
    let (client, token) = with_token(&router).await;
    let request = Request::post("/form")
        .header(
            CONTENT_TYPE,
            "Application/X-WWW-Form-URLEncoded; charset=UTF-8",
        )
        .header(COOKIE, client.jar.header().unwrap().clone())
        .body(Body::from(format!("text=hi&csrf_token={token}")))
        .unwrap();
    let reply = send(&router, request).await;
    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    assert!(
        reply.body.starts_with("text=hi&"),
        "the handler reads the body whole"
    );
}

/// A visitor's secret lives in its cookie until the session is saved for another reason; then
/// it moves into the record, and the tokens of the page the visitor holds still pass.
#[tokio::test]
async fn an_anonymous_secret_moves_into_the_record_when_the_session_is_saved() {
    async fn remember(session: Session) -> Result<Session, axum_session_store::SessionError> {
        session.insert("cart", 1)?;
        Ok(session)
    }
    let config = SessionConfig::builder()
        .secret_key(common::SECRET)
        .default_backend(MemoryBackend::new())
        .build()
        .unwrap();
    let router = Router::new()
        .route("/form", get(form).post(post))
        .route("/cart", axum::routing::post(remember))
        .layer(CsrfLayer::new(config.clone()))
        .layer(config.layer())
        .with_state(config.clone());
    let (mut client, token) = with_token(&router).await;
    assert!(
        common::session_id_in(&config, "session", &client.cookie("session")).is_none(),
        "no record yet: the cookie holds the secret, not an id"
    );
    let cart = Request::post("/cart")
        .header("x-csrf-token", token.clone())
        .body(Body::empty())
        .unwrap();
    assert_eq!(client.send(cart).await.status, StatusCode::OK);
    assert!(
        common::session_id_in(&config, "session", &client.cookie("session")).is_some(),
        "saved for another reason: a record"
    );
    let reply = post_form(
        &client,
        &router,
        format!("text=hi&csrf_token={token}"),
        None,
    )
    .await;
    assert_eq!(reply.body, "saved hi", "the page's token still passes");
}
