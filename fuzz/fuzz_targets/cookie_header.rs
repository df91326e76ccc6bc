//! Arbitrary bytes as raw `Cookie` headers (split at `\n` into several headers) through a
//! router whose handlers use a signed session, an encrypted one, flashes, a signed cookie read
//! directly, and (behind the layer) a server-side one: never a panic, always a `200`, and every
//! session cookie the response sets reads back.

#![no_main]

use std::sync::LazyLock;

use axum::body::Body;
use axum::http::header::{COOKIE, SET_COOKIE};
use axum::http::{HeaderValue, Request, StatusCode};
use axum::routing::get;
use axum::Router;
use axum_session_store::{Flash, MemoryBackend, Session, SessionConfig, SessionName, SessionStore};
use axum_session_store_fuzz::{CONFIG, OLD_SECRET, SECRET};
use libfuzzer_sys::fuzz_target;
use tower::ServiceExt;

/// An encrypted session, in the cookie `cart`.
struct Cart;
impl SessionName for Cart {
    const NAME: &'static str = "cart";
    const BACKEND: &'static str = "privatecookie";
}

/// A server-side session: the cookie `mem` holds a signed id of a record in memory.
struct Mem;
impl SessionName for Mem {
    const NAME: &'static str = "mem";
    const BACKEND: &'static str = "memory";
}

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

/// Cookie sessions only: built once.
static APP: LazyLock<Router> = LazyLock::new(|| {
    Router::new()
        .route("/cookies", get(cookies))
        .with_state(CONFIG.clone())
});

/// With the layer and a server-side session: built for each input, with an empty memory
/// backend. Records kept across inputs would look like leaks to LeakSanitizer, which then scans
/// the whole heap after every input (hundreds of times slower).
fn layered_app() -> Router {
    let config = SessionConfig::builder()
        .secret_key(SECRET)
        .fallback_keys([OLD_SECRET])
        .backend("memory", MemoryBackend::new())
        .build()
        .expect("a valid config");
    Router::new()
        .route("/layered", get(layered))
        .layer(config.layer())
        .with_state(config)
}

static RUNTIME: LazyLock<tokio::runtime::Runtime> = LazyLock::new(|| {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime")
});

fuzz_target!(|data: &[u8]| {
    let Some((&route, data)) = data.split_first() else {
        return;
    };
    let uri = if route & 1 == 0 {
        "/cookies"
    } else {
        "/layered"
    };
    let mut request = Request::get(uri);
    for header in data.split(|&b| b == b'\n') {
        // Bytes that no header value can hold never reach a handler: skip the input.
        let Ok(header) = HeaderValue::from_bytes(header) else {
            return;
        };
        request = request.header(COOKIE, header);
    }
    let request = request.body(Body::empty()).expect("a request");

    let app = if uri == "/cookies" {
        APP.clone()
    } else {
        layered_app()
    };
    let response = RUNTIME.block_on(app.oneshot(request)).expect("infallible");
    let status = response.status();
    assert!(!status.is_server_error(), "{status} for {data:?}");
    assert_eq!(status, StatusCode::OK, "for {data:?}");

    // Every session cookie set reads back with its codec.
    let config = &*CONFIG;
    let now = time::OffsetDateTime::now_utc();
    for header in response.headers().get_all(SET_COOKIE) {
        let header = header.to_str().expect("our Set-Cookie headers are ASCII");
        let (pair, attributes) = header.split_once(';').unwrap_or((header, ""));
        let (name, value) = pair.split_once('=').expect("name=value");
        if attributes.contains("Max-Age=0") {
            continue;
        }
        let read = match name {
            "cart" => config.private_serializer().open_at(name, value, None, now),
            // A server-side session's id cookie, under the id cookies' own key.
            "mem" => config.id_serializer().deserialize_at(name, value, None, now),
            _ => config.serializer().deserialize_at(name, value, None, now),
        };
        assert!(read.is_ok(), "{header:?} does not read back: {read:?}");
    }
    let body = RUNTIME
        .block_on(axum::body::to_bytes(response.into_body(), usize::MAX))
        .expect("a body");
    assert!(std::str::from_utf8(&body).is_ok());
});
