//! CSRF protection from the session: a token masked afresh per response, checked by the layer
//! on unsafe methods, from the form field or the header, and bound to its session.

use axum::body::Body;
use axum::http::header::{CONTENT_TYPE, COOKIE};
use axum::http::{Request, StatusCode};
use axum::routing::get;
use axum::{Form, Router};
use axum_session_store::{CsrfLayer, CsrfToken, Session, SessionConfig};
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
    let mut request =
        Request::post("/form").header(CONTENT_TYPE, "application/x-www-form-urlencoded");
    if let Some(cookie) = client.jar.header() {
        request = request.header(COOKIE, cookie.clone());
    }
    if let Some(token) = header {
        request = request.header("x-csrf-token", token);
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
        .default_backend("memory")
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
