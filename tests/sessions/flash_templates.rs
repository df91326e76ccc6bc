//! Flash messages as Rails and Django users know them: `peek` reads without taking, `now` is
//! for this response only, and a minijinja template takes the messages only if it iterates
//! them.

use axum::routing::get;
use axum::Router;
use axum_session_store::flash::Level;
use axum_session_store::{Flash, SessionConfig};
use minijinja::{context, Environment, Value};

use crate::common::{Client, SECRET};

/// Renders `source` with the flash as `flashes`.
fn render(source: &str, flash: &Flash) -> String {
    let mut env = Environment::new();
    env.add_template("page", source).unwrap();
    env.get_template("page")
        .unwrap()
        .render(context! { flashes => Value::from(flash.clone()) })
        .unwrap()
}

async fn add(flash: Flash) -> Flash {
    flash.success("Saved.");
    flash.add("Check your inbox.", "notice");
    flash
}

/// A page that looks at the messages but does not show them.
async fn quiet(flash: Flash) -> (Flash, String) {
    let page = render(
        "{% if flashes %}{{ flashes|length }} waiting{% else %}none{% endif %}",
        &flash,
    );
    (flash, page)
}

/// A page that shows them.
async fn show(flash: Flash) -> (Flash, String) {
    let page = render(
        "{% for m in flashes %}[{{ m.level }}: {{ m.message }}]{% endfor %}",
        &flash,
    );
    (flash, page)
}

/// A form that failed: a message for this response only, beside any stored ones.
async fn now(flash: Flash) -> (Flash, String) {
    flash.now("Fix the errors below.", Level::Error);
    let page = render(
        "{% for m in flashes %}[{{ m.level }}: {{ m.message }}]{% endfor %}",
        &flash,
    );
    (flash, page)
}

async fn peek(flash: Flash) -> (Flash, String) {
    let texts: Vec<String> = flash.peek().iter().map(ToString::to_string).collect();
    (flash, texts.join("|"))
}

fn client() -> Client {
    let config = SessionConfig::builder().secret_key(SECRET).build().unwrap();
    let app = Router::new()
        .route("/add", get(add))
        .route("/quiet", get(quiet))
        .route("/show", get(show))
        .route("/now", get(now))
        .route("/peek", get(peek))
        .with_state(config);
    Client::new(app)
}

#[tokio::test]
async fn a_template_takes_the_messages_only_when_it_shows_them() {
    let mut client = client();
    client.get("/add").await;
    assert_eq!(client.get("/quiet").await.body, "2 waiting");
    assert_eq!(
        client.get("/quiet").await.body,
        "2 waiting",
        "looking took nothing"
    );
    assert_eq!(
        client.get("/show").await.body,
        "[success: Saved.][notice: Check your inbox.]"
    );
    assert_eq!(client.get("/show").await.body, "", "shown once");
    assert_eq!(client.get("/quiet").await.body, "none");
}

#[tokio::test]
async fn peek_reads_without_taking() {
    let mut client = client();
    client.get("/add").await;
    let reply = client.get("/peek").await;
    assert_eq!(reply.body, "Saved.|Check your inbox.");
    assert!(reply.set_cookies.is_empty(), "peeking modifies nothing");
    assert_eq!(client.get("/peek").await.body, "Saved.|Check your inbox.");
}

#[tokio::test]
async fn a_message_now_is_for_this_response_only() {
    let mut client = client();
    let reply = client.get("/now").await;
    assert_eq!(reply.body, "[error: Fix the errors below.]");
    assert!(reply.set_cookies.is_empty(), "never stored");
    assert_eq!(client.get("/show").await.body, "");

    // Beside stored messages, after them; taking both stores the emptied list.
    client.get("/add").await;
    assert_eq!(
        client.get("/now").await.body,
        "[success: Saved.][notice: Check your inbox.][error: Fix the errors below.]"
    );
    assert_eq!(client.get("/show").await.body, "");
}
