//! [`SessionStore`]: the request-scoped registry of sessions, and how they are loaded and saved.

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use axum::http::header::SET_COOKIE;
use axum::http::{HeaderMap, HeaderValue};
use axum::response::Response;
use serde_json::{Map, Value};
use time::OffsetDateTime;

use crate::backend::{Backend, SECURE_COOKIE};
use crate::cache_headers;
use crate::codec::{self, CookieCodec, SessionPayload, VerifiedCookie, MAX_COOKIE_VALUE_LEN};
use crate::config::SessionConfig;
use crate::error::SessionError;
use crate::expiry::{self, Verdict, CREATED_KEY};
use crate::name::{RuntimeName, SessionName};
use crate::nesting;
use crate::request_cookies::RequestCookies;
use crate::server_session;
use crate::session::Session;
use crate::state::{Loaded, SessionData, SessionState};

/// The sessions of one request, webapp2's `SessionStore(request)`.
///
/// The first extractor of a request ([`Session`], [`Flash`](crate::Flash) or `SessionStore`)
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
///         .get_session(&format!("exp-{name}"), "securecookie")
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
    /// Whether a `SessionLayer` saves this store, and whether it has yet: one of [`NO_LAYER`],
    /// [`LAYER_PENDING`], [`LAYER_DONE`].
    layer: AtomicU8,
    /// Sessions in first-use order.
    sessions: Mutex<Vec<Arc<SessionState>>>,
    /// Unsaved changes at the end are expected: a save failed (and said so where it happened),
    /// or the layer skipped saving a failed (5xx) response.
    unsaved_is_expected: AtomicBool,
}

/// No `SessionLayer` saves the store: only a returned guard (or `save_sessions`) does.
pub(crate) const NO_LAYER: u8 = 0;
/// A `SessionLayer` will save the store after the handler, seeing the response's status.
pub(crate) const LAYER_PENDING: u8 = 1;
/// The layer has saved the store (or skipped it): what changes later, a guard saves.
const LAYER_DONE: u8 = 2;

/// What saving a session writes to its cookie.
pub(crate) enum CookieWrite<'c> {
    /// Store `json`, encoded by `codec`, straight into the `Set-Cookie` header.
    Set {
        codec: &'c dyn CookieCodec,
        json: Vec<u8>,
    },
    /// Tell the browser to delete the cookie.
    Remove,
}

impl SessionStore {
    /// A store for the request whose headers are given; `layer` is [`LAYER_PENDING`] when a
    /// `SessionLayer` will save it, else [`NO_LAYER`].
    pub(crate) fn new(config: SessionConfig, headers: &HeaderMap, layer: u8) -> Self {
        let cookies = RequestCookies::from_headers(headers, config.max_cookie_pairs());
        Self {
            inner: Arc::new(Inner {
                config,
                cookies,
                now: OffsetDateTime::now_utc(),
                layer: AtomicU8::new(layer),
                sessions: Mutex::new(Vec::new()),
                unsaved_is_expected: AtomicBool::new(false),
            }),
        }
    }

    /// The configuration this store was made from.
    pub fn config(&self) -> &SessionConfig {
        &self.inner.config
    }

    /// The session named by the marker `N`, as its extractor would give it.
    ///
    /// # Errors
    /// As [`get_session`](Self::get_session).
    pub async fn session<N: SessionName>(&self) -> Result<Session<N>, SessionError> {
        let config = &self.inner.config;
        let state = self
            .session_state(N::cookie_name(config), N::backend_name(config))
            .await?;
        Ok(Session::new(state, self.clone()))
    }

    /// The session `name` kept by the backend `backend`, webapp2's `get_session(name, backend)`.
    ///
    /// The first call for a name loads the session (an empty new one when the request has no
    /// valid cookie for it, or its record is gone); later calls in the same request return the
    /// same session, whatever backend they name.
    ///
    /// # Errors
    /// - [`SessionError::Config`] when `name` is not a valid cookie name or breaks the cookie
    ///   prefix rules with its cookie attributes;
    /// - [`SessionError::TooManySessions`] when the request already opened
    ///   [`max_sessions_per_request`](crate::SessionConfigBuilder::max_sessions_per_request)
    ///   sessions;
    /// - [`SessionError::UnknownBackend`] when no backend of that name is registered;
    /// - [`SessionError::LayerMissing`] for a server-side backend on a route without the layer;
    /// - [`SessionError::Backend`] when the backend fails to load the record.
    pub async fn get_session(
        &self,
        name: &str,
        backend: &str,
    ) -> Result<Session<RuntimeName>, SessionError> {
        let state = self.session_state(name, backend).await?;
        Ok(Session::new(state, self.clone()))
    }

    /// The data of the signed cookie `name` as the request carried it, webapp2's
    /// `get_secure_cookie(name)`: `None` when it is missing or does not verify.
    ///
    /// Changes made in this request are not seen: use [`get_session`](Self::get_session) for
    /// that.
    pub fn get_secure_cookie(&self, name: &str) -> Option<Map<String, Value>> {
        let value = self.inner.cookies.get(name)?;
        let config = &self.inner.config;
        config
            .serializer()
            .deserialize_at(name, value, config.max_age_for(name), self.inner.now)
            .ok()
            .map(|verified| verified.data)
    }

    /// Merges `values` into the signed-cookie session `name`, webapp2's
    /// `set_secure_cookie(name, value)`: keys in `values` are set, other keys are kept.
    ///
    /// # Errors
    /// - [`SessionError::Config`] when `name` is not a valid cookie name;
    /// - [`SessionError::ReservedKey`] when `values` holds a key the crate keeps for itself
    ///   (nothing is merged then).
    pub fn set_secure_cookie(
        &self,
        name: &str,
        values: Map<String, Value>,
    ) -> Result<(), SessionError> {
        if let Some(key) = values.keys().find(|key| expiry::is_reserved(key)) {
            return Err(SessionError::ReservedKey {
                session: name.to_owned(),
                key: key.clone(),
            });
        }
        let state = match self.find(name) {
            Some(state) => state,
            None => {
                self.inner.config.validate_session_name(name)?;
                self.check_room(name)?;
                let backend = Backend::SecureCookie;
                let data = self.load_cookie_session(name, &backend);
                self.register(name, SECURE_COOKIE, backend, data)
            }
        };
        let mut data = state.lock();
        for (key, value) in values {
            data.mark_set(&key);
            data.values.insert(key, value);
        }
        Ok(())
    }

    /// Writes a `Set-Cookie` header into `headers` for every cookie session that needs one, in
    /// first-use order, webapp2's `save_sessions(response)`. Server-side sessions are left to
    /// the [`SessionLayer`](crate::SessionLayer), which saves them after the handler.
    ///
    /// Either every header is added or none is: when one session cannot be saved (its cookie
    /// would exceed 4096 bytes, say), nothing is written and the error says which session.
    /// A second call in the same request writes nothing new. A response that used a session
    /// gets `Vary: Cookie`, and one that sets a cookie `Cache-Control: private` unless it has a
    /// `Cache-Control` of its own.
    ///
    /// # Errors
    /// [`SessionError::CookieTooLarge`] for a cookie that browsers would drop.
    pub fn save_sessions(&self, headers: &mut HeaderMap) -> Result<(), SessionError> {
        let saved = self.save_cookie_sessions(headers);
        if saved.is_err() {
            self.inner
                .unsaved_is_expected
                .store(true, Ordering::Relaxed);
        }
        saved
    }

    fn save_cookie_sessions(&self, headers: &mut HeaderMap) -> Result<(), SessionError> {
        let sessions = self.lock_sessions();
        let cookie_sessions = || sessions.iter().filter(|state| state.backend().is_cookie());
        let mut pending = Vec::new();
        for state in cookie_sessions() {
            if let Some(write) = self.cookie_session_write(state)? {
                pending.push(self.set_cookie_header(state.name(), write)?);
            }
        }
        for state in cookie_sessions() {
            state.lock().mark_saved();
        }
        let used = !sessions.is_empty();
        drop(sessions);
        finish_headers(headers, used, pending);
        Ok(())
    }

    /// The guard's save: nothing when a layer will save after the handler (it sees the
    /// response's status, which the guard cannot); else every cookie session, and an error for
    /// a server-side session changed after the layer saved (only the layer awaits backends).
    pub(crate) fn save_as_guard(&self, headers: &mut HeaderMap) -> Result<(), SessionError> {
        if self.inner.layer.load(Ordering::Acquire) == LAYER_PENDING {
            return Ok(());
        }
        self.save_sessions(headers)?;
        let unsaved_server_session = self
            .lock_sessions()
            .iter()
            .find(|state| !state.backend().is_cookie() && state.lock().needs_save())
            .cloned();
        match unsaved_server_session {
            Some(state) => {
                self.inner
                    .unsaved_is_expected
                    .store(true, Ordering::Relaxed);
                Err(SessionError::LayerMissing {
                    session: state.name().to_owned(),
                    backend: state.backend_name().to_owned(),
                })
            }
            None => Ok(()),
        }
    }

    /// Hands the store to a `SessionLayer` that found it in the request (made by an extractor
    /// in a middleware outside the layer): true when this layer is now the one to save it,
    /// false when another layer already is.
    pub(crate) fn adopt(&self) -> bool {
        self.inner
            .layer
            .compare_exchange(NO_LAYER, LAYER_PENDING, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }

    /// The layer's save, once the handler answered: every session that needs it, server-side
    /// ones included, unless the response is a server error, which saves nothing (the request
    /// failed; as Django and tower-sessions do). On error nothing is written.
    pub(crate) async fn save_for_layer(&self, response: &mut Response) -> Result<(), SessionError> {
        let saved = if response.status().is_server_error() {
            self.inner
                .unsaved_is_expected
                .store(true, Ordering::Relaxed);
            if !self.lock_sessions().is_empty() {
                cache_headers::vary_on_cookie(response.headers_mut());
            }
            Ok(())
        } else {
            self.save_all(response.headers_mut()).await
        };
        self.inner.layer.store(LAYER_DONE, Ordering::Release);
        if saved.is_err() {
            self.inner
                .unsaved_is_expected
                .store(true, Ordering::Relaxed);
        }
        saved
    }

    /// Saves every session that needs it, server-side ones included, then writes their
    /// `Set-Cookie` headers into `headers`; on error nothing is written.
    async fn save_all(&self, headers: &mut HeaderMap) -> Result<(), SessionError> {
        let mut pending = Vec::new();
        // By index: the sessions' lock cannot be held across the backends' awaits.
        for index in 0.. {
            let Some(state) = self.lock_sessions().get(index).cloned() else {
                break;
            };
            let write = match state.backend() {
                Backend::SecureCookie | Backend::PrivateCookie => {
                    let write = self.cookie_session_write(&state)?;
                    state.lock().mark_saved();
                    write
                }
                Backend::Server(backend) => {
                    server_session::save(
                        &self.inner.config,
                        &state,
                        state.backend_name(),
                        backend.as_ref(),
                        self.inner.now,
                    )
                    .await?
                }
            };
            if let Some(write) = write {
                pending.push(self.set_cookie_header(state.name(), write)?);
            }
        }
        let used = !self.lock_sessions().is_empty();
        finish_headers(headers, used, pending);
        Ok(())
    }

    /// What saving a cookie session writes, if it needs saving.
    fn cookie_session_write(
        &self,
        state: &SessionState,
    ) -> Result<Option<CookieWrite<'_>>, SessionError> {
        let data = state.lock();
        if !data.needs_save() {
            return Ok(None);
        }
        if data.invalidated && data.values.is_empty() {
            return Ok(Some(CookieWrite::Remove));
        }
        let name = state.name();
        if let Some(key) = nesting::too_deep(&data.values) {
            return Err(SessionError::TooDeep {
                session: name.to_owned(),
                key: key.to_owned(),
            });
        }
        let config = &self.inner.config;
        let Some(codec) = config.cookie_codec(state.backend()) else {
            return Ok(None);
        };
        let creation = config
            .expiry_policy()
            .creation_to_save(data.creation, self.inner.now.unix_timestamp());
        let payload = SessionPayload {
            values: &data.values,
            created_at: creation.map(|creation| creation.at),
        };
        let json = codec::to_json(&payload).map_err(|source| SessionError::Encode {
            session: name.to_owned(),
            source: source.into(),
        })?;
        Ok(Some(CookieWrite::Set { codec, json }))
    }

    /// The `Set-Cookie` header for a session's cookie, refused when browsers would drop it.
    fn set_cookie_header(
        &self,
        name: &str,
        write: CookieWrite<'_>,
    ) -> Result<HeaderValue, SessionError> {
        let attributes = self.inner.config.cookie_attributes_for(name);
        let too_large = |size| SessionError::CookieTooLarge {
            session: name.to_owned(),
            size,
        };
        let header = match write {
            CookieWrite::Set { codec, json } => {
                let now = self.inner.now;
                let value_len = codec.value_len(json.len(), now);
                // The length is exact: refuse before encoding anything.
                let size = attributes.set_cookie_len(name, value_len);
                if size > MAX_COOKIE_VALUE_LEN {
                    return Err(too_large(size));
                }
                let mut header = attributes.start_set_cookie(name, value_len);
                codec
                    .write_value(name, &json, now, &mut header)
                    .map_err(|source| SessionError::Encode {
                        session: name.to_owned(),
                        source,
                    })?;
                attributes.finish_set_cookie(&mut header);
                header
            }
            CookieWrite::Remove => {
                let header = attributes.removal_cookie(name);
                if header.len() > MAX_COOKIE_VALUE_LEN {
                    return Err(too_large(header.len()));
                }
                header
            }
        };
        HeaderValue::try_from(header).map_err(|_| SessionError::InvalidHeader {
            session: name.to_owned(),
        })
    }

    /// The session `name`: the one already used in this request, or a newly loaded one.
    async fn session_state(
        &self,
        name: &str,
        backend_name: &str,
    ) -> Result<Arc<SessionState>, SessionError> {
        if let Some(existing) = self.find(name) {
            return Ok(existing);
        }
        let config = &self.inner.config;
        config.validate_session_name(name)?;
        self.check_room(name)?;
        let backend = config
            .backend(backend_name)
            .ok_or_else(|| SessionError::UnknownBackend {
                session: name.to_owned(),
                backend: backend_name.to_owned(),
            })?
            .clone();
        let data = match &backend {
            Backend::SecureCookie | Backend::PrivateCookie => {
                self.load_cookie_session(name, &backend)
            }
            Backend::Server(_) if self.inner.layer.load(Ordering::Acquire) != LAYER_PENDING => {
                return Err(SessionError::LayerMissing {
                    session: name.to_owned(),
                    backend: backend_name.to_owned(),
                });
            }
            Backend::Server(server) => {
                server_session::load(
                    config,
                    name,
                    backend_name,
                    server.as_ref(),
                    self.inner.cookies.get(name),
                    self.inner.now,
                )
                .await?
            }
        };
        Ok(self.register(name, backend_name, backend, data))
    }

    /// Refuses a new session `name` when the request has opened as many as the config allows.
    fn check_room(&self, name: &str) -> Result<(), SessionError> {
        let limit = self.inner.config.max_sessions_per_request();
        if self.lock_sessions().len() >= limit {
            return Err(SessionError::TooManySessions {
                session: name.to_owned(),
                limit,
            });
        }
        Ok(())
    }

    /// Adds a loaded session, unless one of the same name was added meanwhile (two loads
    /// awaited at once): then that one is kept and returned.
    fn register(
        &self,
        name: &str,
        backend_name: &str,
        backend: Backend,
        data: SessionData,
    ) -> Arc<SessionState> {
        let mut sessions = self.lock_sessions();
        if let Some(existing) = sessions.iter().find(|s| s.name() == name) {
            return existing.clone();
        }
        let state = Arc::new(SessionState::new(name, backend_name, backend, data));
        sessions.push(state.clone());
        state
    }

    /// Reads the session `name` from its signed or sealed cookie; a missing or rejected cookie
    /// gives an empty new session, and a rejected one a log line (rate-limited) that names
    /// neither the value nor a key.
    fn load_cookie_session(&self, name: &str, backend: &Backend) -> SessionData {
        let config = &self.inner.config;
        let (Some(value), Some(codec)) =
            (self.inner.cookies.get(name), config.cookie_codec(backend))
        else {
            return SessionData::new_empty();
        };
        match codec.decode(name, value, config.max_age_for(name), self.inner.now) {
            Ok(verified) => loaded(config, name, verified, self.inner.now, SessionData::loaded),
            Err(reason) => {
                config.rejection_log().rejected(name, &reason);
                SessionData::new_empty()
            }
        }
    }

    fn find(&self, name: &str) -> Option<Arc<SessionState>> {
        self.lock_sessions()
            .iter()
            .find(|s| s.name() == name)
            .cloned()
    }

    /// The sessions used so far, in first-use order.
    fn sessions(&self) -> Vec<Arc<SessionState>> {
        self.lock_sessions().clone()
    }

    fn lock_sessions(&self) -> MutexGuard<'_, Vec<Arc<SessionState>>> {
        // Changes under this lock are single pushes: a panic elsewhere leaves nothing half-done.
        self.inner
            .sessions
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// A session from a verified cookie (or the record it names), once the expiry policies have
/// judged it: a new empty one when it is past its absolute lifetime.
pub(crate) fn loaded(
    config: &SessionConfig,
    name: &str,
    mut verified: VerifiedCookie,
    now: OffsetDateTime,
    make: impl FnOnce(Map<String, Value>, Loaded) -> SessionData,
) -> SessionData {
    let saved_at = verified.signed_at.unix_timestamp();
    // The reserved key never shows among the session's keys, whatever the policy.
    let stored = verified
        .data
        .remove(CREATED_KEY)
        .and_then(|created| created.as_i64());
    match config
        .expiry_policy()
        .judge(stored, saved_at, now.unix_timestamp())
    {
        Verdict::PastLifetime => {
            tracing::debug!(
                session = name,
                "session reached its absolute lifetime; starting a new session"
            );
            SessionData::new_empty()
        }
        Verdict::Live { creation, refresh } => make(
            verified.data,
            Loaded {
                needs_resign: verified.signed_with_fallback,
                creation,
                needs_refresh: refresh,
            },
        ),
    }
}

/// Adds a save's `Set-Cookie` headers, and the caching headers a response that `used` a
/// session needs.
fn finish_headers(headers: &mut HeaderMap, used: bool, set_cookies: Vec<HeaderValue>) {
    if used {
        cache_headers::vary_on_cookie(headers);
    }
    if !set_cookies.is_empty() {
        cache_headers::private_unless_set(headers);
    }
    for value in set_cookies {
        headers.append(SET_COOKIE, value);
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
            if state.lock().modified {
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
            .sessions()
            .iter()
            .map(|s| s.name().to_owned())
            .collect();
        f.debug_struct("SessionStore")
            .field("sessions", &names)
            .finish_non_exhaustive()
    }
}
