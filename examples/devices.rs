//! A "where you're signed in" page: each browser signed in to the account, with its browser,
//! network and times, a button that logs one device out, and one that logs out all the others.
//!
//! ```text
//! cargo run --example devices
//! ```
//!
//! Then sign in as the same user from two browsers (or a normal and a private window) at
//! <http://localhost:3000>: each lists both, marks itself, and can log the other out. With curl:
//!
//! ```text
//! token() { curl -s -c $1 -b $1 http://localhost:3000/ | grep -o 'csrf_token" value="[^"]*' | head -1 | cut -d'"' -f3; }
//! curl -s -c a -b a -A "Firefox" -d "user=ada&csrf_token=$(token a)" http://localhost:3000/login
//! curl -s -c b -b b -A "Safari" -d "user=ada&csrf_token=$(token b)" http://localhost:3000/login
//! curl -s -c a -b a http://localhost:3000/     # two devices: Firefox (this device) and Safari
//! ```

use std::net::SocketAddr;

use axum::extract::{Form, Path};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use axum_session_store::backend::MemoryBackend;
use axum_session_store::csrf::CsrfLayer;
use axum_session_store::minijinja::{context, Environment};
use axum_session_store::session::{ClientAddress, Metadata, SessionHandle};
use axum_session_store::{ConfigError, Session, SessionConfig};
use serde::{Deserialize, Serialize};

const PAGE: &str = r#"<!doctype html>
<title>Where you're signed in</title>
{% if user %}
<h1>Signed in as {{ user }}</h1>
<table>
<tr><th>Device</th><th>Network</th><th>Signed in</th><th>Last seen</th><th></th></tr>
{% for device in devices %}
<tr>
  <td>{{ device.browser }}{% if device.current %} (this device){% endif %}</td>
  <td>{{ device.network }}</td><td>{{ device.created }}</td><td>{{ device.last_seen }}</td>
  <td>{% if not device.current %}
    <form method="post" action="/devices/{{ device.handle }}/logout">
      <input type="hidden" name="csrf_token" value="{{ csrf_token }}">
      <button>Log out</button>
    </form>{% endif %}</td>
</tr>
{% endfor %}
</table>
<form method="post" action="/devices/logout-others">
  <input type="hidden" name="csrf_token" value="{{ csrf_token }}">
  <button>Log out all other devices</button>
</form>
<form method="post" action="/logout">
  <input type="hidden" name="csrf_token" value="{{ csrf_token }}">
  <button>Log out</button>
</form>
{% else %}
<form method="post" action="/login">
  <input type="hidden" name="csrf_token" value="{{ csrf_token }}">
  <input name="user" placeholder="user name"> <button>Sign in</button>
</form>
{% endif %}
"#;

/// One row of the page: what the crate's `Device` says, as text.
#[derive(Serialize)]
struct Row {
    handle: String,
    current: bool,
    browser: String,
    network: String,
    created: String,
    last_seen: String,
}

async fn page(session: Session) -> Result<Response, AppError> {
    let user = session.user_id();
    let devices = session.user_sessions().await?;
    let when = |at: Option<time::OffsetDateTime>| {
        at.map_or_else(
            || "unknown".to_owned(),
            |at| format!("{} {:02}:{:02} UTC", at.date(), at.hour(), at.minute()),
        )
    };
    let rows: Vec<Row> = devices
        .into_iter()
        .map(|device| Row {
            handle: device.handle.to_string(),
            current: device.current,
            browser: device.user_agent.unwrap_or_else(|| "unknown".into()),
            network: device.client_address.unwrap_or_else(|| "unknown".into()),
            created: when(device.created),
            last_seen: when(device.last_seen),
        })
        .collect();
    let mut templates = Environment::new();
    templates.add_template("devices.html", PAGE)?;
    let html = templates.get_template("devices.html")?.render(context! {
        user,
        devices => rows,
        csrf_token => session.csrf_token()?,
    })?;
    Ok(Html(html).into_response())
}

#[derive(Deserialize)]
struct Login {
    user: String,
}

/// A real app checks a password first.
async fn login(session: Session, Form(login): Form<Login>) -> Result<Redirect, AppError> {
    session.set_user_id(login.user)?; // a new id too: no session fixation
    Ok(Redirect::to("/"))
}

async fn log_out_device(
    session: Session,
    Path(handle): Path<String>,
) -> Result<Redirect, AppError> {
    if let Ok(handle) = handle.parse::<SessionHandle>() {
        session.revoke_session(&handle).await?;
    }
    Ok(Redirect::to("/"))
}

async fn log_out_others(session: Session) -> Result<Redirect, AppError> {
    session.revoke_other_sessions().await?;
    Ok(Redirect::to("/"))
}

async fn logout(session: Session) -> Redirect {
    session.invalidate();
    Redirect::to("/")
}

/// Any failure, as a 500 with its message (a real app would log it and show less).
struct AppError(String);

impl<E: std::fmt::Display> From<E> for AppError {
    fn from(error: E) -> Self {
        Self(error.to_string())
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        (axum::http::StatusCode::INTERNAL_SERVER_ERROR, self.0).into_response()
    }
}

fn config(secret: &[u8]) -> Result<SessionConfig, ConfigError> {
    SessionConfig::builder()
        .secret_key(secret)
        .default_backend(MemoryBackend::new())
        .metadata(Metadata::new().client_address(ClientAddress::Network {
            ipv4_prefix: 24,
            ipv6_prefix: 48,
        }))
        .build()
}

fn app(config: SessionConfig) -> Router {
    Router::new()
        .route("/", get(page))
        .route("/login", post(login))
        .route("/devices/{handle}/logout", post(log_out_device))
        .route("/devices/logout-others", post(log_out_others))
        .route("/logout", post(logout))
        .layer(CsrfLayer::new(config.clone()))
        .layer(config.layer())
        .with_state(config)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // From the environment in a real app; random here, so restarting logs everyone out.
    let mut secret = [0; 48];
    getrandom::fill(&mut secret)?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    println!("Listening on http://localhost:3000");
    // With the peer address, which the metadata records (as its network).
    let service = app(config(&secret)?).into_make_service_with_connect_info::<SocketAddr>();
    axum::serve(listener, service).await?;
    Ok(())
}

/// Two browsers sign in as one user, see each other, and log each other out, over a real
/// socket as the module docs' curl tour does.
#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::header::{CONTENT_TYPE, COOKIE, LOCATION, USER_AGENT};
    use axum::http::{Request, StatusCode};
    use axum_session_store::test_util::CookieJar;
    use http_body_util::BodyExt;
    use hyper::client::conn::http1;
    use hyper_util::rt::TokioIo;

    /// A browser: a cookie jar and a user agent.
    struct Browser {
        jar: CookieJar,
        agent: &'static str,
        server: SocketAddr,
    }

    impl Browser {
        async fn send(&mut self, method: &str, path: &str, form: &str) -> (StatusCode, String) {
            let mut request = Request::builder()
                .method(method)
                .uri(path)
                .header("host", self.server.to_string())
                .header(USER_AGENT, self.agent)
                .header(CONTENT_TYPE, "application/x-www-form-urlencoded");
            if let Some(cookie) = self.jar.header() {
                request = request.header(COOKIE, cookie.clone());
            }
            let request = request.body(Body::from(form.to_owned())).unwrap();
            let stream = tokio::net::TcpStream::connect(self.server).await.unwrap();
            let (mut sender, connection) = http1::handshake(TokioIo::new(stream)).await.unwrap();
            tokio::spawn(connection);
            let response = sender.send_request(request).await.unwrap();
            self.jar.store_response(response.headers());
            let status = response.status();
            if status == StatusCode::SEE_OTHER {
                assert_eq!(response.headers()[LOCATION], "/");
            }
            let body = response.into_body().collect().await.unwrap().to_bytes();
            (status, String::from_utf8(body.to_vec()).unwrap())
        }

        async fn page(&mut self) -> String {
            let (status, page) = self.send("GET", "/", "").await;
            assert_eq!(status, StatusCode::OK, "{page}");
            // The template escapes `/` too.
            page.replace("&#x2f;", "/")
        }

        async fn post(&mut self, path: &str, fields: &str) {
            let page = self.page().await;
            let token = page
                .split(r#"name="csrf_token" value=""#)
                .nth(1)
                .and_then(|rest| rest.split('"').next())
                .unwrap()
                .to_owned();
            let form = format!("{fields}&csrf_token={token}");
            let (status, body) = self.send("POST", path, &form).await;
            assert_eq!(status, StatusCode::SEE_OTHER, "{path}: {body}");
        }
    }

    #[tokio::test]
    async fn two_browsers_see_and_log_out_each_other() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let server = listener.local_addr().unwrap();
        let config = config(b"an example secret, at least 32 bytes long").unwrap();
        let service = app(config).into_make_service_with_connect_info::<SocketAddr>();
        tokio::spawn(async move { axum::serve(listener, service).await });
        let browser = |agent| Browser {
            jar: CookieJar::new(),
            agent,
            server,
        };
        let (mut firefox, mut safari, mut chrome) = (
            browser("Firefox/140"),
            browser("Safari/18"),
            browser("Chrome/139 <b>"),
        );

        for b in [&mut firefox, &mut safari, &mut chrome] {
            b.post("/login", "user=ada").await;
        }
        let page = firefox.page().await;
        assert!(page.contains("Signed in as ada"), "{page}");
        assert!(page.contains("Firefox/140 (this device)"), "{page}");
        assert!(
            page.contains("Safari/18") && page.contains("Chrome/139"),
            "{page}"
        );
        assert!(
            page.contains("Chrome/139 &lt;b&gt;"),
            "a user agent is escaped: {page}"
        );
        assert!(
            page.contains("127.0.0.0/24"),
            "the network, not the address: {page}"
        );
        assert_eq!(
            page.matches("/logout\">").count(),
            3,
            "a button per other device: {page}"
        );

        // Firefox logs Safari out.
        let safari_row = page.split("Safari/18").nth(1).unwrap();
        let handle = safari_row
            .split("/devices/")
            .nth(1)
            .and_then(|rest| rest.split('/').next())
            .unwrap()
            .to_owned();
        firefox.post(&format!("/devices/{handle}/logout"), "").await;
        assert!(
            safari.page().await.contains("Sign in"),
            "Safari is logged out"
        );
        let page = firefox.page().await;
        assert!(
            !page.contains("Safari/18") && page.contains("Chrome/139"),
            "{page}"
        );

        // Then all the others.
        firefox.post("/devices/logout-others", "").await;
        assert!(
            chrome.page().await.contains("Sign in"),
            "Chrome is logged out"
        );
        let page = firefox.page().await;
        assert!(
            page.contains("Firefox/140 (this device)") && !page.contains("Chrome"),
            "{page}"
        );
    }
}
