//! The helpers the integration tests share: a config, a client that carries cookies from
//! response to request as a browser does (driving a `Router` in process), the servers and
//! fixtures of the backend tests, and the suite every server backend runs.

pub mod blackhole;
pub mod counting;
pub mod failing_writes;
pub mod partition;
pub mod private_redis;
pub mod recorder;
pub mod redis_cluster;
pub mod redis_sentinel;
pub mod servers;
pub mod shared;
pub mod sql;
pub mod storage_only;
pub mod suite;
pub mod suite_devices;
pub mod suite_events;

use axum::body::Body;
use axum::http::header::{COOKIE, SET_COOKIE};
use axum::http::{Request, StatusCode};
use axum::Router;
use axum_session_store::backend::{Storage, UserIndex};
use axum_session_store::test_util::CookieJar;
use axum_session_store::{BackendError, SessionConfig, SessionId};
use http_body_util::BodyExt;
use tower::ServiceExt;

/// The ids of a user's live sessions, in id order: what most tests compare.
pub trait UserIds {
    fn user_ids(
        &self,
        user: &str,
    ) -> impl std::future::Future<Output = Result<Vec<SessionId>, BackendError>> + Send;
}

impl<B: UserIndex> UserIds for B {
    async fn user_ids(&self, user: &str) -> Result<Vec<SessionId>, BackendError> {
        let listed = self.user_sessions(user, 10_000).await?;
        let mut ids: Vec<SessionId> = listed.into_iter().map(|listed| listed.id).collect();
        ids.sort();
        Ok(ids)
    }
}

pub const SECRET: &[u8; 32] = b"test secret of thirty-two bytes!";

pub fn config() -> SessionConfig {
    SessionConfig::builder().secret_key(SECRET).build().unwrap()
}

/// A config whose default session is kept in `storage`.
pub fn config_on(storage: impl Into<Storage>) -> SessionConfig {
    SessionConfig::builder()
        .secret_key(SECRET)
        .default_backend(storage)
        .build()
        .unwrap()
}

/// Each kind of storage, with what messages call it: a signed cookie, an encrypted one, and
/// memory on the server.
pub fn storages() -> [(&'static str, Storage); 3] {
    [
        ("securecookie", Storage::signed_cookie()),
        ("privatecookie", Storage::private_cookie()),
        (
            "memory",
            axum_session_store::backend::MemoryBackend::new().into(),
        ),
    ]
}

/// A response, read whole.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub set_cookies: Vec<String>,
    pub body: String,
}

impl Reply {
    /// The value the response sets for cookie `name`, if it sets one.
    pub fn cookie(&self, name: &str) -> Option<String> {
        self.set_cookies.iter().find_map(|header| {
            let (pair, _) = header.split_once(';').unwrap_or((header, ""));
            let (n, v) = pair.split_once('=')?;
            (n == name).then(|| v.to_owned())
        })
    }

    /// The whole `Set-Cookie` header for cookie `name`.
    pub fn set_cookie_header(&self, name: &str) -> Option<&str> {
        self.set_cookies
            .iter()
            .find(|h| h.starts_with(&format!("{name}=")))
            .map(String::as_str)
    }
}

/// A browser-like client: keeps cookies, sends them back, forgets deleted ones.
pub struct Client {
    app: Router,
    pub jar: CookieJar,
}

impl Client {
    pub fn new(app: Router) -> Self {
        Self {
            app,
            jar: CookieJar::new(),
        }
    }

    /// The value of the cookie `name` the client holds; panics when it holds none.
    pub fn cookie(&self, name: &str) -> String {
        self.jar
            .get(name)
            .unwrap_or_else(|| panic!("the client holds no {name} cookie"))
            .to_owned()
    }

    pub async fn get(&mut self, uri: &str) -> Reply {
        let request = Request::get(uri).body(Body::empty()).unwrap();
        self.send(request).await
    }

    pub async fn send(&mut self, mut request: Request<Body>) -> Reply {
        if let Some(header) = self.jar.header() {
            request.headers_mut().insert(COOKIE, header.clone());
        }
        let reply = send(&self.app, request).await;
        for header in &reply.set_cookies {
            self.jar.store(header);
        }
        reply
    }
}

/// Sends one request with no cookie handling.
pub async fn send(app: &Router, request: Request<Body>) -> Reply {
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let set_cookies = response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    Reply {
        status,
        set_cookies,
        body: String::from_utf8(body.to_vec()).unwrap(),
    }
}

/// Sends `GET uri` with the given raw `Cookie` header.
pub async fn get_with_cookie(app: &Router, uri: &str, cookie: &str) -> Reply {
    let request = Request::get(uri)
        .header(COOKIE, cookie)
        .body(Body::empty())
        .unwrap();
    send(app, request).await
}

pub mod app {
    //! A router whose routes each do one session operation, so tests read as request scripts.

    use std::collections::BTreeMap;
    use std::sync::Arc;

    use axum::extract::{Path, Query};
    use axum::routing::get;
    use axum::Extension;
    use axum::Router;
    use axum_session_store::session::Expiry;
    use axum_session_store::{Flash, Session, SessionConfig, SessionError, SessionName};
    use serde_json::{json, Value};
    use tokio::sync::Notify;

    /// A second named session, `other`, in its own cookie.
    pub struct Other;
    impl SessionName for Other {
        const NAME: &'static str = "other";
    }

    /// The routes with the config as state, without the session layer.
    pub fn router(config: SessionConfig) -> Router {
        routes().with_state(config)
    }

    /// The routes behind the session layer, as server-side sessions need.
    pub fn layered(config: SessionConfig) -> Router {
        routes().layer(config.layer()).with_state(config)
    }

    /// Two signals between a test and a handler that waits in the middle of a request.
    #[derive(Default)]
    pub struct Pause {
        /// The handler has loaded the session and made its changes.
        pub reached: Notify,
        /// The test lets the handler finish, and the layer save.
        pub resume: Notify,
    }

    /// [`layered`], plus `/login-paused`: regenerates the id and sets `user=ada`, then waits
    /// for `pause.resume` before the layer saves, so a test can run another request between
    /// this one's load and its save.
    pub fn layered_with_pause(config: SessionConfig, pause: Arc<Pause>) -> Router {
        routes()
            .route("/login-paused", get(login_paused))
            .layer(Extension(pause))
            .layer(config.layer())
            .with_state(config)
    }

    async fn login_paused(
        session: Session,
        Extension(pause): Extension<Arc<Pause>>,
    ) -> Result<Session, SessionError> {
        session.regenerate_id();
        session.insert("user", "ada")?;
        pause.reached.notify_one();
        pause.resume.notified().await;
        Ok(session)
    }

    fn routes() -> Router<SessionConfig> {
        Router::new()
            .route("/set", get(set))
            .route("/dump", get(dump))
            .route("/dump-other", get(dump_other))
            .route("/remove/{key}", get(remove))
            .route("/clear", get(clear))
            .route("/replace", get(replace))
            .route("/expiry/{kind}", get(set_expiry))
            .route("/invalidate", get(invalidate))
            .route("/touch", get(touch))
            .route("/flash/add", get(add_flash))
            .route("/flash/take", get(take_flashes))
            .route("/regenerate", get(regenerate))
            .route("/login", get(login))
            .route("/login-as/{user}", get(login_as))
            .route("/devices", get(devices))
            .route("/revoke-others", get(revoke_others))
            .route("/tie/{user}", get(tie))
            .route("/revoke/{handle}", get(revoke))
            .route("/device-list", get(device_list))
            .route("/handle", get(handle))
            .route("/label/{label}", get(label))
    }

    /// Logs in as `user`: a new id, tied to the user.
    async fn login_as(session: Session, Path(user): Path<String>) -> Result<Session, SessionError> {
        session.regenerate_id();
        session.set_user_id(user)?;
        Ok(session)
    }

    /// The user's sessions: how many, and whether this one is among them.
    async fn devices(session: Session) -> Result<String, SessionError> {
        let devices = session.user_sessions().await?;
        Ok(json!({
            "count": devices.len(),
            "current_listed": devices.iter().any(|device| device.current),
        })
        .to_string())
    }

    /// The user's sessions as a devices page shows them.
    async fn device_list(session: Session) -> Result<String, SessionError> {
        let time = |at: Option<time::OffsetDateTime>| at.map(time::OffsetDateTime::unix_timestamp);
        let devices: Vec<_> = session
            .user_sessions()
            .await?
            .into_iter()
            .map(|device| {
                json!({
                    "handle": device.handle,
                    "current": device.current,
                    "created": time(device.created),
                    "last_seen": time(device.last_seen),
                    "expires_at": device.expires_at.unix_timestamp(),
                    "user_agent": device.user_agent,
                    "client_address": device.client_address,
                    "label": device.label,
                })
            })
            .collect();
        Ok(json!(devices).to_string())
    }

    /// This session's handle, or nothing.
    async fn handle(session: Session) -> String {
        session
            .handle()
            .map(|handle| handle.to_string())
            .unwrap_or_default()
    }

    /// Labels this session's device.
    async fn label(session: Session, Path(label): Path<String>) -> Result<Session, SessionError> {
        session.set_device_label(&label)?;
        Ok(session)
    }

    /// Ties the session to `user`, as an app that forgets `regenerate_id()` does.
    async fn tie(session: Session, Path(user): Path<String>) -> Result<Session, SessionError> {
        session.set_user_id(user)?;
        Ok(session)
    }

    /// "Log out this device": the session `handle` names, if it is the user's.
    async fn revoke(session: Session, Path(handle): Path<String>) -> Result<String, SessionError> {
        let handle = handle.parse().expect("a well-formed handle");
        Ok(session.revoke_session(&handle).await?.to_string())
    }

    async fn revoke_others(session: Session) -> Result<String, SessionError> {
        Ok(session.revoke_other_sessions().await?.to_string())
    }

    /// Logs in as `ada` the way the README says: a new id, then the user.
    async fn login(session: Session) -> Result<Session, SessionError> {
        session.regenerate_id();
        session.insert("user", "ada")?;
        Ok(session)
    }

    async fn regenerate(session: Session) -> Session {
        session.regenerate_id();
        session
    }

    /// Sets every query parameter; values that parse as JSON are stored as that JSON.
    async fn set(
        session: Session,
        Query(params): Query<BTreeMap<String, String>>,
    ) -> Result<Session, SessionError> {
        for (key, value) in params {
            let value: Value = serde_json::from_str(&value).unwrap_or(Value::String(value));
            session.insert(key, value)?;
        }
        Ok(session)
    }

    fn describe<N>(session: &Session<N>) -> String {
        let values: BTreeMap<String, Value> = session
            .keys()
            .into_iter()
            .map(|k| {
                let v = session.get_value(&k).unwrap();
                (k, v)
            })
            .collect();
        json!({"is_new": session.is_new(), "is_modified": session.is_modified(), "values": values})
            .to_string()
    }

    /// The session as JSON, without saving it.
    async fn dump(session: Session) -> String {
        describe(&session)
    }

    async fn dump_other(session: Session<Other>) -> String {
        describe(&session)
    }

    /// Returns the session (the guard) without changing it.
    async fn touch(session: Session) -> (Session, String) {
        let body = describe(&session);
        (session, body)
    }

    async fn remove(session: Session, Path(key): Path<String>) -> (Session, String) {
        let removed = session.remove(&key);
        let body = json!({"removed": removed, "is_modified": session.is_modified()}).to_string();
        (session, body)
    }

    async fn clear(session: Session) -> Session {
        session.clear();
        session
    }

    /// Gives the session its own lifetime: `remember` (30 days idle), `browser`, `until` (one
    /// hour from now), or `default`.
    async fn set_expiry(session: Session, Path(kind): Path<String>) -> Session {
        let expiry = match kind.as_str() {
            "remember" => Some(Expiry::OnInactivity(time::Duration::days(30))),
            "browser" => Some(Expiry::OnBrowserClose),
            "until" => Some(Expiry::AtDateTime(
                time::OffsetDateTime::now_utc() + time::Duration::hours(1),
            )),
            _ => None,
        };
        session.set_expiry(expiry);
        session
    }

    /// Clears the session, then sets every query parameter (as `/set` does).
    async fn replace(
        session: Session,
        query: Query<BTreeMap<String, String>>,
    ) -> Result<Session, SessionError> {
        session.clear();
        set(session, query).await
    }

    async fn invalidate(session: Session) -> Session {
        session.invalidate();
        session
    }

    async fn add_flash(flash: Flash, Query(params): Query<BTreeMap<String, String>>) -> Flash {
        let message = params.get("msg").cloned().unwrap_or_default();
        match params.get("level") {
            Some(level) => flash.add(message, level.as_str()),
            None => flash.session().add_flash(message, None),
        }
        flash
    }

    async fn take_flashes(flash: Flash) -> (Flash, String) {
        let flashes = serde_json::to_string(&flash.take()).unwrap();
        (flash, flashes)
    }
}

/// The record id that the id cookie `value` of the server-side session `name` carries.
pub fn session_id_in(config: &SessionConfig, name: &str, value: &str) -> Option<String> {
    let payload = config.id_serializer().deserialize(name, value, None).ok()?;
    payload.get("_sid")?.as_str().map(str::to_owned)
}

/// Parses a `/dump` body.
pub fn dumped(reply: &Reply) -> serde_json::Value {
    serde_json::from_str(&reply.body).unwrap_or_else(|_| panic!("not JSON: {reply:?}"))
}

/// Log lines written on this thread while the returned guard lives (tests run on a
/// current-thread runtime, or drive the router from the test's own task, so the handlers' logs
/// land on this thread too).
///
/// Deterministic whatever runs in parallel: one subscriber is installed as the global default,
/// once per test binary, and hands each event to the capture active on the thread that emits
/// it. (A thread-local `set_default` subscriber is not enough: tracing caches each callsite's
/// interest process-wide, and a thread with no subscriber that reaches a callsite first pins it
/// to "never" for every thread.)
#[derive(Clone, Default)]
pub struct Logs(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

thread_local! {
    static CAPTURE: std::cell::RefCell<Option<Logs>> = const { std::cell::RefCell::new(None) };
}

/// Ends a capture when dropped, restoring the one it replaced.
pub struct CaptureGuard {
    previous: Option<Logs>,
}

impl Drop for CaptureGuard {
    fn drop(&mut self) {
        CAPTURE.with(|capture| *capture.borrow_mut() = self.previous.take());
    }
}

/// Where the global subscriber writes: the emitting thread's capture, or nowhere.
struct ThreadCapture;

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for ThreadCapture {
    type Writer = Box<dyn std::io::Write>;
    fn make_writer(&'a self) -> Self::Writer {
        match CAPTURE.with(|capture| capture.borrow().clone()) {
            Some(logs) => Box::new(logs),
            None => Box::new(std::io::sink()),
        }
    }
}

impl Logs {
    pub fn capture() -> (Self, CaptureGuard) {
        static INSTALL: std::sync::Once = std::sync::Once::new();
        INSTALL.call_once(|| {
            let subscriber = tracing_subscriber::fmt()
                .with_writer(ThreadCapture)
                .with_ansi(false)
                .with_max_level(tracing::Level::DEBUG)
                .finish();
            tracing::subscriber::set_global_default(subscriber)
                .expect("no other global subscriber in the test binaries");
        });
        let logs = Self::default();
        let previous = CAPTURE.with(|capture| capture.borrow_mut().replace(logs.clone()));
        (logs, CaptureGuard { previous })
    }

    pub fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }

    pub fn lines_with(&self, level: &str) -> Vec<String> {
        self.text()
            .lines()
            .filter(|l| l.contains(level))
            .map(str::to_owned)
            .collect()
    }
}

impl std::io::Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// For a binary that collects every thread's events itself (the reliability tests' global
/// subscriber), instead of capturing per thread.
impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Logs {
    type Writer = Self;
    fn make_writer(&'a self) -> Self {
        self.clone()
    }
}

/// Sends `value` as the session cookie (raw bytes) and says whether it was accepted.
pub async fn accepted(router: &Router, value: &[u8]) -> bool {
    let mut header = b"session=".to_vec();
    header.extend_from_slice(value);
    let request = Request::get("/dump")
        .header(
            COOKIE,
            axum::http::HeaderValue::from_bytes(&header).unwrap(),
        )
        .body(Body::empty())
        .unwrap();
    let reply = send(router, request).await;
    assert_eq!(reply.status, 200, "never an error for a bad cookie");
    let dump = dumped(&reply);
    match dump["is_new"].as_bool().unwrap() {
        true => {
            assert_eq!(
                dump["values"],
                serde_json::json!({}),
                "a rejected cookie gives an empty session"
            );
            false
        }
        false => true,
    }
}
