//! Flash messages in an askama template: the template calls `flash.take()` where it shows the
//! messages, so a page that does not show them keeps them for the next one.
//!
//! ```text
//! cargo run --example askama_flash
//! curl -s -c jar -b jar http://localhost:3000/save      # sets a flash, redirects
//! curl -s -c jar -b jar http://localhost:3000/          # shows "Saved." once
//! ```

use std::net::{Ipv4Addr, SocketAddr};

use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use axum_session_store::{Flash, SessionConfig};

/// The page: it takes the messages only in the block that shows them.
#[derive(Template)]
#[template(
    ext = "html",
    source = r#"<!doctype html>
<title>askama flash</title>
{% for m in flash.take() %}<p class="flash {{ m.level_or("info") }}">{{ m }}</p>
{% endfor %}<a href="/save">Save something</a>"#
)]
struct Page<'a> {
    flash: &'a Flash,
}

/// A page that never shows the messages: they stay for the next one.
#[derive(Template)]
#[template(
    ext = "html",
    source = "<p>{{ flash.peek().len() }} messages waiting</p>"
)]
struct Elsewhere<'a> {
    flash: &'a Flash,
}

fn html(page: Result<String, askama::Error>) -> Response {
    match page {
        Ok(page) => Html(page).into_response(),
        Err(error) => (StatusCode::INTERNAL_SERVER_ERROR, error.to_string()).into_response(),
    }
}

async fn index(flash: Flash) -> (Flash, Response) {
    let page = html(Page { flash: &flash }.render());
    (flash, page)
}

async fn elsewhere(flash: Flash) -> (Flash, Response) {
    let page = html(Elsewhere { flash: &flash }.render());
    (flash, page)
}

async fn save(flash: Flash) -> (Flash, Redirect) {
    flash.success("Saved.");
    (flash, Redirect::to("/"))
}

fn app(config: SessionConfig) -> Router {
    Router::new()
        .route("/", get(index))
        .route("/elsewhere", get(elsewhere))
        .route("/save", get(save))
        .with_state(config)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // A random secret per run: sessions end when the example stops. Read yours from the
    // environment or a secret store.
    let mut secret = [0u8; 32];
    getrandom::fill(&mut secret)?;
    let config = SessionConfig::builder().secret_key(secret).build()?;
    let address = SocketAddr::from((Ipv4Addr::LOCALHOST, 3000));
    let listener = tokio::net::TcpListener::bind(address).await?;
    println!("listening on http://{address}");
    axum::serve(listener, app(config)).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use axum_session_store::test_util::CookieJar;
    use tower::ServiceExt;

    use super::*;

    /// Sends `path` with the jar's cookies, keeps what the response sets; the body.
    async fn get(app: &Router, jar: &mut CookieJar, path: &str) -> String {
        let mut request = axum::http::Request::get(path)
            .body(axum::body::Body::empty())
            .unwrap();
        if let Some(cookie) = jar.header() {
            request
                .headers_mut()
                .insert(axum::http::header::COOKIE, cookie.clone());
        }
        let response = app.clone().oneshot(request).await.unwrap();
        jar.store_response(response.headers());
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        String::from_utf8(body.to_vec()).unwrap()
    }

    #[tokio::test]
    async fn the_template_takes_the_messages_where_it_shows_them() {
        let config = SessionConfig::builder()
            .secret_key("an example secret, at least 32 bytes long")
            .build()
            .unwrap();
        let app = app(config);
        let mut jar = CookieJar::default();
        get(&app, &mut jar, "/save").await;
        assert_eq!(
            get(&app, &mut jar, "/elsewhere").await,
            "<p>1 messages waiting</p>"
        );
        let page = get(&app, &mut jar, "/").await;
        assert!(
            page.contains(r#"<p class="flash success">Saved.</p>"#),
            "{page}"
        );
        assert!(
            !get(&app, &mut jar, "/").await.contains("Saved."),
            "shown once"
        );
    }
}
