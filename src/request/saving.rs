//! The one save path: the guard, the layer and webapp2's `save_sessions` all save through
//! [`Save`], under one rule for when a session counts as saved.

use std::sync::Arc;

use axum::http::header::SET_COOKIE;
use axum::http::{HeaderMap, HeaderValue};
use axum::response::Response;

use crate::cache_headers;
use crate::config::keeper::Keeper;
use crate::cookie_session;
use crate::error::SessionError;
use crate::legacy_session;
use crate::request::saver::Saver;
use crate::request::store::SessionStore;
use crate::server;
use crate::set_cookie::{removal_header, set_cookie_header, CookieWrite};
use crate::state::shared::SessionState;

/// One save of a request's sessions: the `Set-Cookie` headers it built and the sessions it
/// covers.
///
/// The rule: a session counts as saved once the whole save went through. Until
/// [`commit`](Self::commit), nothing is in the response and nothing is marked saved; if any
/// session fails, the save is dropped whole (a server-side record already written stays
/// written: the response then says 500, which never claims success).
struct Save {
    headers: Vec<HeaderValue>,
    covered: Vec<Arc<SessionState>>,
}

impl Save {
    fn new() -> Self {
        Self {
            headers: Vec::new(),
            covered: Vec::new(),
        }
    }

    /// Adds the cookie session `state`, encoded by `codec`.
    fn cookie_session(
        &mut self,
        store: &SessionStore,
        state: &Arc<SessionState>,
        codec: &dyn crate::cookie::codec::CookieCodec,
    ) -> Result<(), SessionError> {
        let now = store.now();
        let write = cookie_session::write(state.profile(), codec, &state.lock(), now)?;
        self.written(state, write, store)
    }

    /// Adds a session whose save wrote `write` to its cookie (if anything).
    fn written(
        &mut self,
        state: &Arc<SessionState>,
        write: Option<CookieWrite<'_>>,
        store: &SessionStore,
    ) -> Result<(), SessionError> {
        let profile = state.profile();
        // Another framework's cookie the session was read from goes, unless this one's header
        // replaces it.
        let legacy = state.lock().legacy_cookie().map(str::to_owned);
        let replaced = write.is_some()
            && legacy
                .as_deref()
                .is_some_and(|name| legacy_session::is_overwritten(profile, name));
        if let Some(write) = write {
            self.headers
                .push(set_cookie_header(profile, write, store.now())?);
        }
        if let Some(legacy) = legacy.filter(|_| !replaced) {
            self.headers.push(removal_header(profile, &legacy)?);
        }
        self.covered.push(state.clone());
        Ok(())
    }

    /// Puts the save into the response: its `Set-Cookie` headers, `Vary: Cookie` when the
    /// request `used` a session, `Cache-Control: private` when a cookie is set (unless the
    /// response has its own); and marks every session it covers saved.
    fn commit(self, headers: &mut HeaderMap, used: bool) {
        if used {
            cache_headers::vary_on_cookie(headers);
        }
        if !self.headers.is_empty() {
            cache_headers::private_unless_set(headers);
        }
        for value in self.headers {
            headers.append(SET_COOKIE, value);
        }
        for state in self.covered {
            state.lock().mark_saved();
        }
    }
}

impl SessionStore {
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
    /// let session = store.get_session("session").await?;
    /// session.insert("a", 1)?;
    /// let mut headers = axum::http::HeaderMap::new();
    /// store.save_sessions(&mut headers)?;
    /// assert!(headers.contains_key("set-cookie"));
    /// # Ok(()) }
    /// ```
    pub fn save_sessions(&self, headers: &mut HeaderMap) -> Result<(), SessionError> {
        self.save_now(headers, false)
    }

    /// The guard's save: nothing when a layer will save after the handler (it sees the
    /// response's status, which the guard cannot); else every cookie session, and an error for
    /// a server-side session changed after the layer saved (only the layer awaits backends).
    pub(crate) fn save_as_guard(&self, headers: &mut HeaderMap) -> Result<(), SessionError> {
        if self.saver() == Saver::LayerPending {
            return Ok(());
        }
        self.save_now(headers, true)
    }

    /// Hands the store to a `SessionLayer` that found it in the request (made by an extractor
    /// in a middleware outside the layer): true when this layer is now the one to save it,
    /// false when another layer already is.
    pub(crate) fn adopt(&self) -> bool {
        self.advance_saver(Saver::Guard, Saver::LayerPending)
    }

    /// The layer's save, once the handler answered: every session that needs it, server-side
    /// ones included, unless the response is a server error, which saves nothing (the request
    /// failed; as Django and tower-sessions do). On error nothing is written.
    pub(crate) async fn save_for_layer(&self, response: &mut Response) -> Result<(), SessionError> {
        let saved = if response.status().is_server_error() {
            self.expect_unsaved();
            if self.used_any() {
                cache_headers::vary_on_cookie(response.headers_mut());
            }
            Ok(())
        } else {
            self.save_with_backends(response.headers_mut()).await
        };
        self.advance_saver(Saver::LayerPending, Saver::LayerDone);
        saved
    }

    /// Saves, without awaiting any backend, every cookie session into `headers`; a server-side
    /// session that needs saving is refused when `refuse_server` (the guard's case), else left.
    fn save_now(&self, headers: &mut HeaderMap, refuse_server: bool) -> Result<(), SessionError> {
        let mut save = Save::new();
        let built = (0..)
            .map_while(|i| self.session_at(i))
            .try_for_each(|state| match state.profile().keeper() {
                Keeper::Cookie(codec) => save.cookie_session(self, &state, codec.as_ref()),
                Keeper::Server { .. } if refuse_server && state.lock().needs_save() => {
                    Err(SessionError::LayerMissing {
                        session: state.name().to_owned(),
                        backend: state.profile().backend_name().to_owned(),
                    })
                }
                Keeper::Server { .. } => Ok(()),
            });
        self.finish(save, built, headers)
    }

    /// Saves every session that needs it, awaiting the server-side backends, into `headers`.
    async fn save_with_backends(&self, headers: &mut HeaderMap) -> Result<(), SessionError> {
        let mut save = Save::new();
        let mut built = Ok(());
        // By index: the sessions' lock cannot be held across the backends' awaits.
        for state in (0..).map_while(|i| self.session_at(i)) {
            built = match state.profile().keeper() {
                Keeper::Cookie(codec) => save.cookie_session(self, &state, codec.as_ref()),
                Keeper::Server { backend, ids, .. } => {
                    let emitter = self.config().emitter(state.profile(), self.now());
                    match server::save(&state, backend.as_ref(), ids, self.now(), emitter).await {
                        Ok(write) => save.written(&state, write, self),
                        Err(error) => Err(error),
                    }
                }
            };
            if built.is_err() {
                break;
            }
        }
        self.finish(save, built, headers)
    }

    /// Commits `save` when every session of it was `built`; else reports the failure.
    fn finish(
        &self,
        save: Save,
        built: Result<(), SessionError>,
        headers: &mut HeaderMap,
    ) -> Result<(), SessionError> {
        match built {
            Ok(()) => {
                save.commit(headers, self.used_any());
                Ok(())
            }
            Err(error) => {
                self.expect_unsaved();
                Err(error)
            }
        }
    }
}
