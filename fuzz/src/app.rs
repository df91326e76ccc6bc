//! The router the request targets drive, and the checks every response must pass: handlers
//! that use a signed session, an encrypted one, flashes, a signed cookie read directly, and
//! (behind the layer) a server-side one.

use std::sync::LazyLock;

use axum::body::Body;
use axum::http::header::{COOKIE, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue, Request, StatusCode};
use axum::routing::get;
use axum::Router;
use axum_session_store::backend::{MemoryBackend, Storage};
use axum_session_store::{
    Flash, Session, SessionConfig, SessionConfigBuilder, SessionName, SessionStore,
};
use tower::ServiceExt;

use crate::{CONFIG, OLD_SECRET, SECRET};

/// An encrypted session, in the cookie `cart`.
pub struct Cart;
impl SessionName for Cart {
    const NAME: &'static str = "cart";
}

/// A server-side session: the cookie `mem` holds a signed id of a record in memory.
pub struct Mem;
impl SessionName for Mem {
    const NAME: &'static str = "mem";
}

/// The header that tells `/flash/add` how many flash messages to add.
pub const FLASH_COUNT: &str = "x-flash-count";

/// The header that gives `/flash/add` the text of each message.
pub const FLASH_TEXT: &str = "x-flash-text";

/// Marks a new session as seen (a small write, so saving cannot fail for size); a loaded one
/// is left as it came.
fn touch<N>(session: &Session<N>) {
    if session.is_new() {
        // "seen" is not a reserved key: this cannot fail.
        let _ = session.insert_value("seen", 1.into());
    }
}

/// Signed and encrypted cookie sessions, saved by returning them.
async fn cookies(
    session: Session,
    cart: Session<Cart>,
    flash: Flash,
    store: SessionStore,
) -> (Session, Session<Cart>, String) {
    let other = store.get_secure_cookie("other");
    let flashes = flash.take();
    touch(&session);
    touch(&cart);
    let body = format!(
        "{} {} {} {}",
        session.len(),
        cart.len(),
        flashes.len(),
        other.map_or(0, |o| o.len())
    );
    (session, cart, body)
}

/// The same plus a server-side session, saved by the layer.
async fn layered(session: Session, mem: Session<Mem>) -> String {
    touch(&session);
    touch(&mem);
    format!("{} {}", session.len(), mem.len())
}

/// Adds as many flash messages to the server-side session as the `x-flash-count` header says,
/// each the `x-flash-text` header's text, after reading (not taking) those already there.
async fn add_flashes(flash: Flash<Mem>, headers: HeaderMap) -> String {
    let before = flash.peek().len();
    let header = |name| {
        headers
            .get(name)
            .map(|value| String::from_utf8_lossy(value.as_bytes()))
    };
    let count: usize = header(FLASH_COUNT)
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    let text = header(FLASH_TEXT).unwrap_or_default().into_owned();
    for _ in 0..count {
        flash.info(text.clone());
    }
    format!("{before}")
}

/// Takes every flash message of the server-side session.
async fn take_flashes(flash: Flash<Mem>) -> String {
    format!("{}", flash.take().len())
}

/// Cookie sessions only: built once.
static APP: LazyLock<Router> = LazyLock::new(|| {
    Router::new()
        .route("/cookies", get(cookies))
        .with_state(CONFIG.clone())
});

/// The routes without the layer: `/cookies`.
pub fn cookie_app() -> Router {
    APP.clone()
}

/// `/cookies` with `config` in place of `CONFIG` (its secrets must be `CONFIG`'s, which
/// [`send`] reads the cookies back with).
pub fn cookie_app_with(config: SessionConfig) -> Router {
    Router::new()
        .route("/cookies", get(cookies))
        .with_state(config)
}

/// With the layer and a server-side session (`/layered`, `/flash/add`, `/flash/take`): built
/// for each input, with an empty memory backend. Records kept across inputs would look like
/// leaks to LeakSanitizer, which then scans the whole heap after every input (hundreds of
/// times slower).
pub fn layered_app() -> Router {
    layered_app_with(|builder| builder)
}

/// [`layered_app`] with more settings from `more`.
pub fn layered_app_with(more: impl FnOnce(SessionConfigBuilder) -> SessionConfigBuilder) -> Router {
    let builder = SessionConfig::builder()
        .secret_key(SECRET)
        .fallback_keys([OLD_SECRET])
        .session_backend::<Cart>(Storage::private_cookie())
        .session_backend::<Mem>(MemoryBackend::new());
    let config = more(builder).build().expect("a valid config");
    Router::new()
        .route("/layered", get(layered))
        .route("/flash/add", get(add_flashes))
        .route("/flash/take", get(take_flashes))
        .layer(config.layer())
        .with_state(config)
}

static RUNTIME: LazyLock<tokio::runtime::Runtime> = LazyLock::new(|| {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime")
});

/// A `GET uri` with these `Cookie` headers and other headers.
pub fn request<'a>(
    uri: &str,
    cookies: impl IntoIterator<Item = HeaderValue>,
    headers: impl IntoIterator<Item = (&'a str, HeaderValue)>,
) -> Request<Body> {
    let mut request = Request::get(uri);
    for cookie in cookies {
        request = request.header(COOKIE, cookie);
    }
    for (name, value) in headers {
        request = request.header(name, value);
    }
    request.body(Body::empty()).expect("a request")
}

/// Sends `request` to `app` and checks the answer: a `200` (never a server error), a UTF-8
/// body, and every session cookie set reads back with its codec. Returns the cookies set, as
/// `name=value`, for a next request.
pub fn send(app: Router, request: Request<Body>) -> Vec<HeaderValue> {
    let described = format!("{:?}", request.headers());
    let response = RUNTIME.block_on(app.oneshot(request)).expect("infallible");
    let status = response.status();
    assert!(!status.is_server_error(), "{status} for {described}");
    assert_eq!(status, StatusCode::OK, "for {described}");

    let config = &*CONFIG;
    let now = time::OffsetDateTime::now_utc();
    let mut set = Vec::new();
    for header in response.headers().get_all(SET_COOKIE) {
        let header = header.to_str().expect("our Set-Cookie headers are ASCII");
        let (pair, attributes) = header.split_once(';').unwrap_or((header, ""));
        let (name, value) = pair.split_once('=').expect("name=value");
        if attributes.contains("Max-Age=0") {
            continue;
        }
        let read = match name {
            "cart" => config
                .private_serializer()
                .deserialize_at(name, value, None, now),
            // A server-side session's id cookie, under the id cookies' own key.
            "mem" => config
                .id_serializer()
                .deserialize_at(name, value, None, now),
            _ => config.serializer().deserialize_at(name, value, None, now),
        };
        assert!(read.is_ok(), "{header:?} does not read back: {read:?}");
        set.push(HeaderValue::from_str(pair).expect("a cookie pair is a header value"));
    }
    let body = RUNTIME
        .block_on(axum::body::to_bytes(response.into_body(), usize::MAX))
        .expect("a body");
    assert!(std::str::from_utf8(&body).is_ok());
    set
}
