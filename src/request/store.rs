//! [`SessionStore`]: the request-scoped registry of sessions, in first-use order, and how a
//! session of the request is opened (resolved once, then loaded from its cookie or record).

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use axum::http::{Extensions, HeaderMap};
use serde_json::{Map, Value};
use time::{Duration, OffsetDateTime};

use crate::config::built::SessionConfig;
use crate::config::keeper::Keeper;
use crate::config::profile::SessionProfile;
use crate::cookie::request::RequestCookies;
use crate::cookie_session;
use crate::error::SessionError;
use crate::event::EventKind;
use crate::metadata::{Capture, StoredMetadata};
use crate::request::saver::{Saver, SharedSaver};
use crate::reserved;
use crate::server;
use crate::state::data::{LoadEvent, SessionData};
use crate::state::shared::SessionState;

/// The sessions of one request, webapp2's `SessionStore(request)`.
///
/// The first extractor of a request ([`Session`](crate::Session), [`Flash`](crate::Flash) or `SessionStore`)
/// creates it from the [`SessionConfig`] in the router state (or the
/// [`SessionLayer`](crate::SessionLayer) does), parses the `Cookie` header once, and keeps it
/// in the request extensions; later extractors of the same request share it. It hands out one
/// session per name, created on first use, and saves them in first-use order (extracting a
/// `Session<N>` or `Flash<N>` counts as use: extractors run before the handler).
///
/// Returned from a handler, it saves every modified cookie session (it is an
/// [`IntoResponseParts`](axum::response::IntoResponseParts) guard, like `Session`); the layer
/// saves server-side sessions.
///
/// [`session`](Self::session) and [`get_session`](Self::get_session) hand out
/// [`Session`](crate::Session) handles; [`save_sessions`](Self::save_sessions) saves them all.
///
/// # Example: session names chosen at run time
///
/// Choose names from a fixed set, never from the request: a name made of a path segment would
/// let any cross-site link plant cookies of its choosing (up to
/// [`max_sessions_per_request`](crate::SessionConfigBuilder::max_sessions_per_request) per
/// request) and crowd out the visitor's real session.
///
/// ```
/// use axum::{extract::Path, http::StatusCode, routing::get, Router};
/// use axum_session_store::{SessionConfig, SessionStore};
///
/// /// One session per experiment the site runs: a fixed list.
/// const EXPERIMENTS: [&str; 2] = ["checkout", "search"];
///
/// async fn enroll(
///     Path(experiment): Path<String>,
///     store: SessionStore,
/// ) -> Result<(SessionStore, String), StatusCode> {
///     let name = EXPERIMENTS
///         .iter()
///         .find(|known| **known == experiment)
///         .ok_or(StatusCode::NOT_FOUND)?;
///     let session = store
///         .get_session(&format!("exp-{name}"))
///         .await
///         .map_err(|_| StatusCode::INTERNAL_SERVER_ERROR)?;
///     let visits: u32 = session.get("visits").ok().flatten().unwrap_or(0) + 1;
///     session
///         .insert("visits", visits)
///         .map_err(|_| StatusCode::INTERNAL_SERVER_ERROR)?;
///     Ok((store, format!("{visits}")))
/// }
///
/// # fn main() -> Result<(), axum_session_store::ConfigError> {
/// # let secret = "an example secret, at least 32 bytes long";
/// let config = SessionConfig::builder().secret_key(secret).build()?;
/// let app: Router = Router::new().route("/{experiment}", get(enroll)).with_state(config);
/// # Ok(()) }
/// ```
#[derive(Clone)]
#[must_use = "return the store from the handler, or add `config.layer()`, so that changes are saved"]
pub struct SessionStore {
    inner: Arc<Inner>,
}

struct Inner {
    config: SessionConfig,
    cookies: RequestCookies,
    /// The request's clock: every session of the request is checked and signed with it.
    now: OffsetDateTime,
    /// What the request says of its client, when metadata is on (boxed: it is the exception).
    client: Option<Box<Capture>>,
    /// Whether a `SessionLayer` saves this store, and whether it has yet: one of [`NO_LAYER`],
    /// [`LAYER_PENDING`], [`LAYER_DONE`].
    saver: SharedSaver,
    /// Sessions in first-use order.
    sessions: Mutex<Vec<Arc<SessionState>>>,
    /// Unsaved changes at the end are expected: a save failed (and said so where it happened),
    /// or the layer skipped saving a failed (5xx) response.
    unsaved_is_expected: AtomicBool,
}

impl SessionStore {
    /// A store for the request whose headers and extensions are given, saved by `saver`.
    pub(crate) fn new(
        config: SessionConfig,
        headers: &HeaderMap,
        extensions: &Extensions,
        saver: Saver,
    ) -> Self {
        let cookies = RequestCookies::from_headers(headers, config.max_cookie_pairs());
        let client = config
            .metadata()
            .map(|recorder| Box::new(recorder.capture(headers, extensions)));
        Self {
            inner: Arc::new(Inner {
                config,
                cookies,
                client,
                now: OffsetDateTime::now_utc(),
                saver: SharedSaver::new(saver),
                sessions: Mutex::new(Vec::new()),
                unsaved_is_expected: AtomicBool::new(false),
            }),
        }
    }

    /// The configuration this store was made from.
    ///
    /// ```
    /// # use axum::extract::FromRequestParts;
    /// # use axum_session_store::{SessionConfig, SessionStore};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let secret = "an example secret, at least 32 bytes long";
    /// # let config = SessionConfig::builder().secret_key(secret).build()?;
    /// # let (mut parts, ()) = axum::http::Request::new(()).into_parts();
    /// let store = SessionStore::from_request_parts(&mut parts, &config).await?;
    /// assert_eq!(store.config().cookie_name(), "session");
    /// # Ok(()) }
    /// ```
    pub fn config(&self) -> &SessionConfig {
        &self.inner.config
    }

    /// The data of the signed cookie `name` as the request carried it, webapp2's
    /// `get_secure_cookie(name)`: `None` when it is missing or does not verify.
    ///
    /// Changes made in this request are not seen: use
    /// [`get_session`](Self::get_session) for that.
    ///
    /// ```
    /// # use axum::extract::FromRequestParts;
    /// # use axum_session_store::{SessionConfig, SessionStore};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let secret = "an example secret, at least 32 bytes long";
    /// # let config = SessionConfig::builder().secret_key(secret).build()?;
    /// # let (mut parts, ()) = axum::http::Request::new(()).into_parts();
    /// let store = SessionStore::from_request_parts(&mut parts, &config).await?;
    /// assert_eq!(store.get_secure_cookie("prefs"), None, "the request carried none");
    /// # Ok(()) }
    /// ```
    pub fn get_secure_cookie(&self, name: &str) -> Option<Map<String, Value>> {
        let config = &self.inner.config;
        let max_age = config.max_age_for(name);
        self.inner
            .cookies
            .first_verified(name, |value| {
                config
                    .signer()
                    .deserialize_at(name, value, max_age, self.inner.now)
            })?
            .ok()
            .map(|verified| verified.data)
    }

    /// Merges `values` into the signed-cookie session `name`, webapp2's
    /// `set_secure_cookie(name, value)`: keys in `values` are set, other keys are kept.
    ///
    /// # Errors
    /// - [`SessionError::Config`] when `name` is not a valid cookie name;
    /// - [`SessionError::ReservedKey`] when `values` holds a key the crate keeps for itself
    ///   (nothing is merged then);
    /// - [`SessionError::TooManySessions`] when the request already opened as many sessions
    ///   as the config allows.
    ///
    /// ```
    /// # use axum::extract::FromRequestParts;
    /// # use axum_session_store::{SessionConfig, SessionStore};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let secret = "an example secret, at least 32 bytes long";
    /// # let config = SessionConfig::builder().secret_key(secret).build()?;
    /// # let (mut parts, ()) = axum::http::Request::new(()).into_parts();
    /// let store = SessionStore::from_request_parts(&mut parts, &config).await?;
    /// let values = serde_json::json!({"theme": "dark"});
    /// store.set_secure_cookie("prefs", values.as_object().unwrap().clone())?;
    /// let mut headers = axum::http::HeaderMap::new();
    /// store.save_sessions(&mut headers)?;
    /// assert!(headers["set-cookie"].to_str()?.starts_with("prefs="));
    /// # Ok(()) }
    /// ```
    pub fn set_secure_cookie(
        &self,
        name: &str,
        values: Map<String, Value>,
    ) -> Result<(), SessionError> {
        if let Some(key) = values.keys().find(|key| reserved::is_reserved(key)) {
            return Err(SessionError::ReservedKey {
                session: name.to_owned(),
                key: key.clone(),
            });
        }
        let state = match self.find(name) {
            Some(state) => state,
            None => {
                let profile = self.open(name, SessionConfig::resolve_signed_cookie)?;
                let data = match profile.keeper() {
                    Keeper::Cookie(codec) => self.load_cookie_session(&profile, codec.as_ref()),
                    Keeper::Server { .. } => SessionData::new_empty(),
                };
                self.register(profile, data)
            }
        };
        let mut data = state.lock();
        for (key, value) in values {
            data.insert(&key, value);
        }
        Ok(())
    }

    /// The session `name` kept by `backend_name`: the one already used in this request, or a
    /// newly opened one, loaded from its cookie or record (read as valid for `max_age` after
    /// its last save, when given, instead of the configured max age).
    pub(crate) async fn session_state(
        &self,
        name: &str,
        max_age: Option<Duration>,
    ) -> Result<Arc<SessionState>, SessionError> {
        if let Some(existing) = self.find(name) {
            return Ok(existing);
        }
        let mut profile = self.open(name, SessionConfig::resolve)?;
        if let Some(max_age) = max_age {
            profile = profile.with_max_age(max_age);
        }
        let mut data = match profile.keeper() {
            Keeper::Cookie(codec) => self.load_cookie_session(&profile, codec.as_ref()),
            Keeper::Server { .. } if self.saver() != Saver::LayerPending => {
                return Err(SessionError::LayerMissing {
                    session: name.to_owned(),
                    backend: profile.backend_name().to_owned(),
                });
            }
            Keeper::Server { backend, ids, .. } => {
                let mut data = server::load(
                    &profile,
                    backend.as_ref(),
                    ids,
                    &self.inner.cookies,
                    self.inner.now,
                    self.inner.config.rejection_log(),
                )
                .await?;
                if let (Some(recorder), Some(capture)) =
                    (self.inner.config.metadata(), self.inner.client.as_deref())
                {
                    let client = || recorder.client(capture);
                    data.observe(client, recorder.interval(), self.inner.now);
                }
                data
            }
        };
        if let Some(found) = data.take_load_event() {
            let emitter = self.inner.config.emitter(&profile, self.inner.now);
            match found {
                LoadEvent::Rejected(reason) => {
                    emitter.emit(EventKind::CookieRejected { reason }, None);
                }
                LoadEvent::Ended(id) => emitter.emit(EventKind::Expired, id.as_ref()),
            }
        }
        Ok(self.register(profile, data))
    }

    /// Resolves a session the request has not used yet, refusing it when the request has
    /// opened as many as the config allows.
    fn open(
        &self,
        name: &str,
        resolve: impl FnOnce(&SessionConfig, &str) -> Result<SessionProfile, SessionError>,
    ) -> Result<SessionProfile, SessionError> {
        let config = &self.inner.config;
        let profile = resolve(config, name)?;
        let limit = config.max_sessions_per_request();
        if self.lock_sessions().len() >= limit {
            return Err(SessionError::TooManySessions {
                session: name.to_owned(),
                limit,
            });
        }
        Ok(profile)
    }

    fn load_cookie_session(
        &self,
        profile: &SessionProfile,
        codec: &dyn crate::cookie::codec::CookieCodec,
    ) -> SessionData {
        cookie_session::load(
            profile,
            codec,
            &self.inner.cookies,
            self.inner.now,
            self.inner.config.rejection_log(),
        )
    }

    /// Adds a loaded session, unless one of the same name was added meanwhile (two loads
    /// awaited at once): then that one is kept and returned.
    fn register(&self, profile: SessionProfile, data: SessionData) -> Arc<SessionState> {
        let mut sessions = self.lock_sessions();
        if let Some(existing) = sessions.iter().find(|s| s.name() == profile.name()) {
            return existing.clone();
        }
        let state = Arc::new(SessionState::new(profile, data));
        sessions.push(state.clone());
        state
    }

    fn find(&self, name: &str) -> Option<Arc<SessionState>> {
        self.lock_sessions()
            .iter()
            .find(|s| s.name() == name)
            .cloned()
    }

    /// The session used `index`-th in this request, if any.
    pub(crate) fn session_at(&self, index: usize) -> Option<Arc<SessionState>> {
        self.lock_sessions().get(index).cloned()
    }

    /// Whether the request used any session.
    pub(crate) fn used_any(&self) -> bool {
        !self.lock_sessions().is_empty()
    }

    /// The request's clock.
    /// The metadata a session created now by this request starts with, when metadata is on.
    pub(crate) fn new_device(&self) -> Option<StoredMetadata> {
        let recorder = self.inner.config.metadata()?;
        let capture = self.inner.client.as_deref()?;
        Some(StoredMetadata::new(
            &recorder.client(capture),
            self.inner.now,
        ))
    }

    pub(crate) fn now(&self) -> OffsetDateTime {
        self.inner.now
    }

    /// Who saves the store now.
    pub(crate) fn saver(&self) -> Saver {
        self.inner.saver.get()
    }

    /// Hands the saving from `from` to `to`; false when it was not `from`'s.
    pub(crate) fn advance_saver(&self, from: Saver, to: Saver) -> bool {
        self.inner.saver.advance(from, to)
    }

    /// Unsaved changes at the end of the request are expected (and were reported): no warning.
    pub(crate) fn expect_unsaved(&self) {
        self.inner
            .unsaved_is_expected
            .store(true, Ordering::Relaxed);
    }

    fn lock_sessions(&self) -> MutexGuard<'_, Vec<Arc<SessionState>>> {
        // Changes under this lock are single pushes: a panic elsewhere leaves nothing half-done.
        self.inner
            .sessions
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        if *self.unsaved_is_expected.get_mut() {
            // A failure was logged (and answered) where it happened, or a 5xx saved nothing.
            return;
        }
        let sessions = self
            .sessions
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner);
        for state in sessions.iter() {
            let data = state.lock();
            // A session read from another framework's cookie is read again until saved.
            if data.is_modified() && data.legacy_cookie().is_none() {
                tracing::warn!(
                    session = state.name(),
                    "session was modified but never saved: return the Session, Flash or \
                     SessionStore from the handler, or add `.layer(config.layer())`"
                );
            }
        }
    }
}

impl fmt::Debug for SessionStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<String> = self
            .lock_sessions()
            .iter()
            .map(|s| s.name().to_owned())
            .collect();
        f.debug_struct("SessionStore")
            .field("sessions", &names)
            .finish_non_exhaustive()
    }
}
