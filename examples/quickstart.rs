//! Quickstart: a visit counter, a login form and flash messages, in one small Axum app.
//!
//! Run it with
//!
//! ```text
//! cargo run --example quickstart
//! ```
//!
//! and open <http://localhost:3000>. Environment variables:
//!
//! - `SESSION_SECRET`: the key that signs the session cookie, at least 32 random bytes
//!   (`openssl rand -base64 48`). Without it, the example draws a random secret for this run
//!   only (sessions end when it stops), with a warning: never a constant anyone could read.
//! - `PORT`: the port to listen on (default `3000`; the server binds `127.0.0.1` only).
//! - `COOKIE_SECURE`: `1` or `0`. Default: off without `SESSION_SECRET` (so plain
//!   `http://localhost` works in every browser), on once `SESSION_SECRET` is set; see
//!   `cookie_secure` below.
//!
//! The same tour with curl, keeping cookies in a jar. Every form carries a CSRF token (a post
//! without one is `403 Forbidden`), so the tour reads it from the page first:
//!
//! ```text
//! curl -s -c jar -b jar http://localhost:3000/                           # "Visits: 1"
//! token() { curl -s -c jar -b jar http://localhost:3000/ | grep -o 'csrf_token" value="[^"]*' | head -1 | cut -d'"' -f3; }
//! curl -si -c jar -b jar -d username=ada http://localhost:3000/login     # 403 Forbidden: no token
//! curl -si -c jar -b jar -d "username=ada&remember=on&csrf_token=$(token)" http://localhost:3000/login
//!                                                                        # 303 See Other; a 30-day cookie
//! curl -s -c jar -b jar http://localhost:3000/                           # "ada" + "Welcome, ada!"
//! curl -s -c jar -b jar http://localhost:3000/                           # "ada", no flash
//! curl -si -c jar -b jar -d "csrf_token=$(token)" http://localhost:3000/logout   # 303 See Other
//! curl -s -c jar -b jar http://localhost:3000/                           # "Not logged in" + "Logged out."
//! ```

use std::env;
use std::error::Error;
use std::net::{Ipv4Addr, SocketAddr};
use std::process::ExitCode;
use std::sync::Arc;

use axum::extract::{FromRef, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use axum_session_store::cookie::CookieArgs;
use axum_session_store::csrf::CsrfLayer;
use axum_session_store::session::Expiry;
use axum_session_store::{Flash, Session, SessionConfig, SessionError};
use minijinja::{context, AutoEscape, Environment};
use serde::Deserialize;
use time::Duration;

/// Longest user name accepted: the whole session lives in one cookie of at most 4096 bytes.
const MAX_USERNAME_CHARS: usize = 64;

/// The page, rendered with HTML autoescaping: `{{ user }}` and `{{ m.message }}` are escaped,
/// so a user named `<script>` is shown, not run.
const INDEX_TEMPLATE: &str = r#"<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>axum-session-store quickstart</title>
  <style>
    body { font-family: system-ui, sans-serif; max-width: 36rem; margin: 2rem auto; }
    .flash { padding: .5rem 1rem; border-radius: .25rem; }
    .info { background: #e7f0fd; }
    .success { background: #e3f6e5; }
    .warning { background: #fff4d6; }
    .error { background: #fde4e4; }
  </style>
</head>
<body>
  <h1>axum-session-store quickstart</h1>
  {% for m in flashes %}
  <p class="flash {{ m.level or "info" }}">{{ m.message }}</p>
  {% endfor %}
  <p>Visits: <strong>{{ visits }}</strong></p>
  {% if user %}
  <p>Logged in as <strong>{{ user }}</strong>.</p>
  <form method="post" action="/logout">
    <input type="hidden" name="csrf_token" value="{{ csrf_token }}">
    <button>Log out</button>
  </form>
  {% else %}
  <p>Not logged in.</p>
  <form method="post" action="/login">
    <input type="hidden" name="csrf_token" value="{{ csrf_token }}">
    <label>Username <input name="username" maxlength="64" autofocus></label>
    <label><input type="checkbox" name="remember"> Remember me for 30 days</label>
    <button>Log in</button>
  </form>
  {% endif %}
</body>
</html>
"#;

/// The router state. The session extractors find the [`SessionConfig`] in it through
/// [`FromRef`].
#[derive(Clone)]
struct AppState {
    sessions: SessionConfig,
    templates: Arc<Environment<'static>>,
}

impl FromRef<AppState> for SessionConfig {
    fn from_ref(state: &AppState) -> Self {
        state.sessions.clone()
    }
}

/// What a handler can fail with: a session error (which is already a response: it logs the
/// details and answers 500) or a template error.
enum AppError {
    Session(SessionError),
    Template(minijinja::Error),
}

impl From<SessionError> for AppError {
    fn from(err: SessionError) -> Self {
        Self::Session(err)
    }
}

impl From<minijinja::Error> for AppError {
    fn from(err: minijinja::Error) -> Self {
        Self::Template(err)
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        match self {
            Self::Session(err) => err.into_response(),
            Self::Template(err) => {
                tracing::error!(error = &err as &dyn Error, "template error");
                (StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error").into_response()
            }
        }
    }
}

/// `GET /`: count the visit, render the page with the flash messages.
///
/// Returning the `Session` saves it: the response sets the updated cookie.
async fn index(
    State(state): State<AppState>,
    session: Session,
    flash: Flash,
) -> Result<(Session, Html<String>), AppError> {
    let visits: u64 = session.get("visits")?.unwrap_or(0) + 1;
    session.insert("visits", visits)?;
    let user: Option<String> = session.get("user")?;
    // The template takes the messages when it shows them (feature `minijinja`): they are
    // shown once, and a page that did not show them would keep them.
    let flashes = minijinja::Value::from(flash);
    // A token masked afresh for this page; the CSRF layer checks it when a form is posted.
    let csrf_token = session.csrf_token()?;
    let page = state
        .templates
        .get_template("index.html")?
        .render(context! { visits, user, flashes, csrf_token })?;
    Ok((session, Html(page)))
}

#[derive(Deserialize)]
struct LoginForm {
    username: String,
    /// The "remember me" box: present when ticked.
    remember: Option<String>,
}

/// `POST /login`: remember the user, or explain what is wrong; then back to `/` (303).
///
/// `session` and `flash` share the request's sessions, so returning either one saves both
/// changes.
async fn login(
    session: Session,
    flash: Flash,
    Form(form): Form<LoginForm>,
) -> Result<(Session, Redirect), SessionError> {
    let username = form.username.trim();
    if username.is_empty() {
        flash.error("Please enter a user name.");
    } else if username.chars().count() > MAX_USERNAME_CHARS {
        flash.error(format!(
            "User names are at most {MAX_USERNAME_CHARS} characters."
        ));
    } else {
        // A new id at login, so an id planted in the browser beforehand is worth nothing.
        session.regenerate_id();
        session.insert("user", username)?;
        // "Remember me": 30 days after the last visit; otherwise until the browser closes.
        session.set_expiry(Some(match form.remember {
            Some(_) => Expiry::OnInactivity(Duration::days(30)),
            None => Expiry::OnBrowserClose,
        }));
        flash.success(format!("Welcome, {username}!"));
    }
    Ok((session, Redirect::to("/")))
}

/// `POST /logout`: end the session, then say so on the next page.
///
/// `invalidate()` drops every key (the user and the visit counter). A value set after it starts
/// a fresh session in the same cookie, so the "Logged out." flash survives the redirect; had
/// nothing been set, the response would delete the cookie instead.
async fn logout(session: Session, flash: Flash) -> (Session, Redirect) {
    session.invalidate();
    flash.info("Logged out.");
    (session, Redirect::to("/"))
}

/// Whether the session cookie gets the `Secure` attribute.
///
/// Production must keep `Secure` on (the [`CookieArgs`] default) and serve over HTTPS.
///
/// This example serves plain `http://localhost`. Chrome, Firefox and current curl send `Secure`
/// cookies there, but Safari does not (nor do some older HTTP clients), and without its cookie
/// every request would start a new session. So the example turns `Secure` off while it runs
/// with a secret of its own run, and keeps it on as soon as a real `SESSION_SECRET` is set.
/// `COOKIE_SECURE=1` or `COOKIE_SECURE=0` overrides either default.
fn cookie_secure(trial_run: bool) -> Result<bool, Box<dyn Error>> {
    // `trial_run`: no SESSION_SECRET was given, so this runs on localhost only.
    match env::var("COOKIE_SECURE") {
        Ok(value) => match value.trim() {
            "1" | "true" | "yes" => Ok(true),
            "0" | "false" | "no" => Ok(false),
            other => Err(format!("COOKIE_SECURE must be 1 or 0, not {other:?}").into()),
        },
        Err(_) => Ok(!trial_run),
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    // Session errors are logged through `tracing`; this prints them.
    tracing_subscriber::fmt::init();
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            // `Display`, not `Debug`: configuration errors say how to fix them.
            eprintln!("error: {err}");
            ExitCode::FAILURE
        }
    }
}

/// 48 random bytes from the OS, for a run without `SESSION_SECRET`.
fn random_secret() -> Result<Vec<u8>, Box<dyn Error>> {
    let mut secret = vec![0; 48];
    getrandom::fill(&mut secret).map_err(|err| format!("the OS random generator failed: {err}"))?;
    Ok(secret)
}

/// The session config: signed-cookie sessions under `secret`, `Secure` cookies if `secure`.
fn config(secret: Vec<u8>, secure: bool) -> Result<SessionConfig, Box<dyn Error>> {
    Ok(SessionConfig::builder()
        .secret_key(secret)
        // Checked by the server from the signed timestamp: a copied cookie stops working a week
        // after the session was last saved, whatever the browser does.
        .session_max_age(Duration::days(7))
        // Everything else keeps the safe defaults: HttpOnly, SameSite=Lax, Path=/.
        .cookie_args(CookieArgs::default().secure(secure))
        .build()?)
}

/// The app: its routes, the CSRF check on every post, and the session layer around them.
fn app(sessions: SessionConfig) -> Result<Router, minijinja::Error> {
    let mut templates = Environment::new();
    // Escape every template as HTML, whatever its name.
    templates.set_auto_escape_callback(|_| AutoEscape::Html);
    templates.add_template("index.html", INDEX_TEMPLATE)?;

    Ok(Router::new()
        .route("/", get(index))
        .route("/login", post(login))
        .route("/logout", post(logout))
        // Every post must carry the page's CSRF token; the session layer, outermost, saves
        // the sessions (and the token's secret) after each handler.
        .layer(CsrfLayer::new(sessions.clone()))
        .layer(sessions.layer())
        .with_state(AppState {
            sessions,
            templates: Arc::new(templates),
        }))
}

async fn run() -> Result<(), Box<dyn Error>> {
    let (secret, trial_run) = match env::var("SESSION_SECRET") {
        Ok(secret) => (secret.into_bytes(), false),
        Err(_) => {
            eprintln!(
                "WARNING: SESSION_SECRET is not set; using a random secret for this run only, \
                 so sessions end when the server stops. Set SESSION_SECRET to at least 32 \
                 random bytes (e.g. `openssl rand -base64 48`) to keep them."
            );
            (random_secret()?, true)
        }
    };
    let secure = cookie_secure(trial_run)?;
    if !secure {
        eprintln!(
            "WARNING: the session cookie is not Secure: fine on http://localhost, never in \
             production (serve HTTPS, leave COOKIE_SECURE unset or 1)."
        );
    }

    let app = app(config(secret, secure)?)?;

    let port = match env::var("PORT") {
        Ok(port) => port
            .trim()
            .parse::<u16>()
            .map_err(|err| format!("PORT must be a port number, not {port:?}: {err}"))?,
        Err(_) => 3000,
    };
    let listener =
        tokio::net::TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, port))).await?;
    println!("Listening on http://localhost:{port}");
    axum::serve(listener, app).await?;
    Ok(())
}

/// The tour of the module docs, in process: what `curl` shows is what a test sees.
#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::http::header::{CONTENT_TYPE, COOKIE, SET_COOKIE};
    use axum::http::Request;
    use axum_session_store::test_util::CookieJar;
    use tower::ServiceExt;

    use super::*;

    /// Sends `request` with the jar's cookies, keeps what the response sets; status and body.
    async fn send(app: &Router, jar: &mut CookieJar, mut request: Request<Body>) -> (u16, String) {
        if let Some(cookie) = jar.header() {
            request.headers_mut().insert(COOKIE, cookie.clone());
        }
        let response = app.clone().oneshot(request).await.unwrap();
        jar.store_response(response.headers());
        let status = response.status().as_u16();
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        (status, String::from_utf8(body.to_vec()).unwrap())
    }

    fn form(path: &str, body: String) -> Request<Body> {
        Request::post(path)
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(body))
            .unwrap()
    }

    /// The page's CSRF token.
    fn token(page: &str) -> String {
        let field = page.split(r#"name="csrf_token" value=""#).nth(1).unwrap();
        field.split('"').next().unwrap().to_owned()
    }

    #[tokio::test]
    async fn the_tour_of_the_docs() {
        let secret = b"an example secret, at least 32 bytes long".to_vec();
        let app = app(config(secret, false).unwrap()).unwrap();
        let mut jar = CookieJar::new();
        let home = || Request::get("/").body(Body::empty()).unwrap();

        let (_, first) = send(&app, &mut jar, home()).await;
        assert!(first.contains("Visits: <strong>1</strong>"), "{first}");
        let refused = send(&app, &mut jar, form("/login", "username=ada".into())).await;
        assert_eq!(refused.0, 403, "no token");

        let login = format!("username=ada&remember=on&csrf_token={}", token(&first));
        let request = {
            let mut request = form("/login", login);
            if let Some(cookie) = jar.header() {
                request.headers_mut().insert(COOKIE, cookie.clone());
            }
            request
        };
        let response = app.clone().oneshot(request).await.unwrap();
        assert_eq!(response.status(), 303);
        let cookie = response
            .headers()
            .get(SET_COOKIE)
            .unwrap()
            .to_str()
            .unwrap();
        assert!(
            cookie.contains("Max-Age=2592000"),
            "a 30-day cookie: {cookie}"
        );
        jar.store_response(response.headers());

        let (_, welcome) = send(&app, &mut jar, home()).await;
        assert!(
            welcome.contains("Logged in as <strong>ada</strong>"),
            "{welcome}"
        );
        assert!(welcome.contains("Welcome, ada!"), "{welcome}");
        let (_, again) = send(&app, &mut jar, home()).await;
        assert!(!again.contains("Welcome, ada!"), "a flash shows once");

        let logout = send(
            &app,
            &mut jar,
            form("/logout", format!("csrf_token={}", token(&again))),
        )
        .await;
        assert_eq!(logout.0, 303);
        let (_, out) = send(&app, &mut jar, home()).await;
        assert!(
            out.contains("Not logged in") && out.contains("Logged out."),
            "{out}"
        );
    }
}
