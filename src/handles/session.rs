//! [`Session<N>`]: the handle a handler uses to read and change one session, and the store's
//! methods that hand it out.

use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;
use time::Duration;

use crate::config::keeper::Keeper;
use crate::error::SessionError;
use crate::expiry::Expiry;
use crate::id::SessionId;
use crate::name::{self, DefaultSession, RuntimeName, SessionName};
use crate::request::store::SessionStore;
use crate::reserved;
use crate::state::shared::SessionState;

/// One named session of the request: a dictionary of JSON values, and the save guard.
///
/// It behaves as webapp2's `SessionDict`: every mutating call marks the session modified (even
/// setting an equal value or clearing an empty session), reads never do, and removing a missing
/// key changes nothing. Values go in and out through serde.
///
/// All methods take `&self`: handles to the same session (two extractors of one request, or
/// clones) share one state. Returning any handle from the handler saves **every** session of the
/// request (see [`SessionStore::save_sessions`]); unmodified sessions set no cookie.
///
/// `Session` alone is the default session, named by the configured `cookie_name`; name others
/// with a [`SessionName`](crate::SessionName) marker.
///
/// # Example
/// ```
/// use axum::{routing::post, Router};
/// use axum_session_store::{Session, SessionConfig};
///
/// async fn login(session: Session) -> Result<(Session, &'static str), axum_session_store::SessionError> {
///     session.insert("user_id", 42_u64)?;
///     Ok((session, "welcome"))
/// }
///
/// # fn main() -> Result<(), axum_session_store::ConfigError> {
/// # let secret = "an example secret, at least 32 bytes long";
/// let config = SessionConfig::builder().secret_key(secret).build()?;
/// let app: Router = Router::new().route("/login", post(login)).with_state(config);
/// # Ok(()) }
/// ```
#[must_use = "return the session from the handler, or add `config.layer()`, so that changes are saved"]
pub struct Session<N = DefaultSession> {
    pub(crate) state: Arc<SessionState>,
    pub(crate) store: SessionStore,
    name: PhantomData<fn() -> N>,
}

impl<N> Session<N> {
    pub(crate) fn new(state: Arc<SessionState>, store: SessionStore) -> Self {
        Self {
            state,
            store,
            name: PhantomData,
        }
    }

    /// The session's name, which is its cookie's name.
    ///
    /// ```
    /// # use axum::extract::FromRequestParts;
    /// # use axum_session_store::{Session, SessionConfig};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let secret = "an example secret, at least 32 bytes long";
    /// # let config = SessionConfig::builder().secret_key(secret).build()?;
    /// # let (mut parts, ()) = axum::http::Request::new(()).into_parts();
    /// let session: Session = Session::from_request_parts(&mut parts, &config).await?;
    /// assert_eq!(session.name(), "session");
    /// # Ok(()) }
    /// ```
    pub fn name(&self) -> &str {
        self.state.name()
    }

    /// The request's store, which holds every session of the request.
    ///
    /// ```
    /// # use axum::extract::FromRequestParts;
    /// # use axum_session_store::{Session, SessionConfig};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let secret = "an example secret, at least 32 bytes long";
    /// # let config = SessionConfig::builder().secret_key(secret).build()?;
    /// # let (mut parts, ()) = axum::http::Request::new(()).into_parts();
    /// let session: Session = Session::from_request_parts(&mut parts, &config).await?;
    /// let same: Session = session.store().session().await?;
    /// same.insert("a", 1)?;
    /// assert_eq!(session.get::<u8>("a")?, Some(1), "one session, two handles");
    /// # Ok(()) }
    /// ```
    pub fn store(&self) -> &SessionStore {
        &self.store
    }

    /// The value under `key`, read as a `T`; `None` when the key is missing.
    ///
    /// # Errors
    /// [`SessionError::Deserialize`] when the stored value is not a `T`.
    ///
    /// ```
    /// # use axum::extract::FromRequestParts;
    /// # use axum_session_store::{Session, SessionConfig};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let secret = "an example secret, at least 32 bytes long";
    /// # let config = SessionConfig::builder().secret_key(secret).build()?;
    /// # let (mut parts, ()) = axum::http::Request::new(()).into_parts();
    /// let session: Session = Session::from_request_parts(&mut parts, &config).await?;
    /// session.insert("visits", 3_u64)?;
    /// assert_eq!(session.get::<u64>("visits")?, Some(3));
    /// assert_eq!(session.get::<u64>("missing")?, None);
    /// assert!(session.get::<String>("visits").is_err(), "not a string");
    /// # Ok(()) }
    /// ```
    pub fn get<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, SessionError> {
        let data = self.state.lock();
        let Some(value) = data.values().get(key) else {
            return Ok(None);
        };
        T::deserialize(value)
            .map(Some)
            .map_err(|source| SessionError::Deserialize {
                session: self.name().to_owned(),
                key: key.to_owned(),
                source,
            })
    }

    /// The raw JSON value under `key`.
    ///
    /// ```
    /// # use axum::extract::FromRequestParts;
    /// # use axum_session_store::{Session, SessionConfig};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let secret = "an example secret, at least 32 bytes long";
    /// # let config = SessionConfig::builder().secret_key(secret).build()?;
    /// # let (mut parts, ()) = axum::http::Request::new(()).into_parts();
    /// let session: Session = Session::from_request_parts(&mut parts, &config).await?;
    /// session.insert("cart", [1, 2])?;
    /// assert_eq!(session.get_value("cart"), Some(serde_json::json!([1, 2])));
    /// # Ok(()) }
    /// ```
    pub fn get_value(&self, key: &str) -> Option<Value> {
        self.state.lock().values().get(key).cloned()
    }

    /// Stores `value` under `key` and marks the session modified.
    ///
    /// # Errors
    /// - [`SessionError::Serialize`] when `value` cannot be represented as JSON (a map with
    ///   non-string keys, say);
    /// - [`SessionError::ReservedKey`] for a key the crate keeps for itself
    ///   ([`CREATED_KEY`](crate::session::CREATED_KEY)).
    ///
    /// The session is then left unchanged.
    ///
    /// ```
    /// # use axum::extract::FromRequestParts;
    /// # use axum_session_store::{Session, SessionConfig};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let secret = "an example secret, at least 32 bytes long";
    /// # let config = SessionConfig::builder().secret_key(secret).build()?;
    /// # let (mut parts, ()) = axum::http::Request::new(()).into_parts();
    /// let session: Session = Session::from_request_parts(&mut parts, &config).await?;
    /// #[derive(serde::Serialize)]
    /// struct Prefs { theme: &'static str }
    /// session.insert("prefs", Prefs { theme: "dark" })?;
    /// assert_eq!(session.get_value("prefs"), Some(serde_json::json!({"theme": "dark"})));
    /// assert!(session.insert("_created", 1).is_err(), "reserved");
    /// # Ok(()) }
    /// ```
    pub fn insert(&self, key: impl AsRef<str>, value: impl Serialize) -> Result<(), SessionError> {
        let key = key.as_ref();
        self.check_writable(key)?;
        let value = serde_json::to_value(value).map_err(|source| SessionError::Serialize {
            session: self.name().to_owned(),
            key: key.to_owned(),
            source,
        })?;
        self.insert_value(key, value)
    }

    /// Stores a JSON value under `key` and marks the session modified.
    ///
    /// # Errors
    /// [`SessionError::ReservedKey`] for a key the crate keeps for itself; the session is then
    /// left unchanged.
    ///
    /// ```
    /// # use axum::extract::FromRequestParts;
    /// # use axum_session_store::{Session, SessionConfig};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let secret = "an example secret, at least 32 bytes long";
    /// # let config = SessionConfig::builder().secret_key(secret).build()?;
    /// # let (mut parts, ()) = axum::http::Request::new(()).into_parts();
    /// let session: Session = Session::from_request_parts(&mut parts, &config).await?;
    /// session.insert_value("n", serde_json::json!(1))?;
    /// assert!(session.is_modified());
    /// # Ok(()) }
    /// ```
    pub fn insert_value(&self, key: impl AsRef<str>, value: Value) -> Result<(), SessionError> {
        let key = key.as_ref();
        self.check_writable(key)?;
        self.state.lock().insert(key, value);
        Ok(())
    }

    /// Refuses the keys the crate keeps for itself.
    fn check_writable(&self, key: &str) -> Result<(), SessionError> {
        if reserved::is_reserved(key) {
            return Err(SessionError::ReservedKey {
                session: self.name().to_owned(),
                key: key.to_owned(),
            });
        }
        Ok(())
    }

    /// Removes `key` and returns its value. Removing a missing key changes nothing and does not
    /// mark the session modified (webapp2's `pop(key, default)`).
    ///
    /// ```
    /// # use axum::extract::FromRequestParts;
    /// # use axum_session_store::{Session, SessionConfig};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let secret = "an example secret, at least 32 bytes long";
    /// # let config = SessionConfig::builder().secret_key(secret).build()?;
    /// # let (mut parts, ()) = axum::http::Request::new(()).into_parts();
    /// let session: Session = Session::from_request_parts(&mut parts, &config).await?;
    /// session.insert("a", 1)?;
    /// assert_eq!(session.remove("a"), Some(serde_json::json!(1)));
    /// assert_eq!(session.remove("a"), None);
    /// # Ok(()) }
    /// ```
    pub fn remove(&self, key: &str) -> Option<Value> {
        self.state.lock().remove(key)
    }

    /// Whether `key` is present.
    ///
    /// ```
    /// # use axum::extract::FromRequestParts;
    /// # use axum_session_store::{Session, SessionConfig};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let secret = "an example secret, at least 32 bytes long";
    /// # let config = SessionConfig::builder().secret_key(secret).build()?;
    /// # let (mut parts, ()) = axum::http::Request::new(()).into_parts();
    /// let session: Session = Session::from_request_parts(&mut parts, &config).await?;
    /// session.insert("a", 1)?;
    /// assert!(session.contains_key("a"));
    /// assert!(!session.contains_key("b"));
    /// # Ok(()) }
    /// ```
    pub fn contains_key(&self, key: &str) -> bool {
        self.state.lock().values().contains_key(key)
    }

    /// The keys, in the order of the underlying map (sorted).
    ///
    /// ```
    /// # use axum::extract::FromRequestParts;
    /// # use axum_session_store::{Session, SessionConfig};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let secret = "an example secret, at least 32 bytes long";
    /// # let config = SessionConfig::builder().secret_key(secret).build()?;
    /// # let (mut parts, ()) = axum::http::Request::new(()).into_parts();
    /// let session: Session = Session::from_request_parts(&mut parts, &config).await?;
    /// session.insert("b", 2)?;
    /// session.insert("a", 1)?;
    /// assert_eq!(session.keys(), ["a", "b"]);
    /// # Ok(()) }
    /// ```
    pub fn keys(&self) -> Vec<String> {
        self.state.lock().values().keys().cloned().collect()
    }

    /// The number of keys.
    ///
    /// ```
    /// # use axum::extract::FromRequestParts;
    /// # use axum_session_store::{Session, SessionConfig};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let secret = "an example secret, at least 32 bytes long";
    /// # let config = SessionConfig::builder().secret_key(secret).build()?;
    /// # let (mut parts, ()) = axum::http::Request::new(()).into_parts();
    /// let session: Session = Session::from_request_parts(&mut parts, &config).await?;
    /// session.insert("a", 1)?;
    /// assert_eq!(session.len(), 1);
    /// # Ok(()) }
    /// ```
    pub fn len(&self) -> usize {
        self.state.lock().values().len()
    }

    /// Whether the session holds no key.
    ///
    /// ```
    /// # use axum::extract::FromRequestParts;
    /// # use axum_session_store::{Session, SessionConfig};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let secret = "an example secret, at least 32 bytes long";
    /// # let config = SessionConfig::builder().secret_key(secret).build()?;
    /// # let (mut parts, ()) = axum::http::Request::new(()).into_parts();
    /// let session: Session = Session::from_request_parts(&mut parts, &config).await?;
    /// assert!(session.is_empty());
    /// session.insert("a", 1)?;
    /// assert!(!session.is_empty());
    /// # Ok(()) }
    /// ```
    pub fn is_empty(&self) -> bool {
        self.state.lock().values().is_empty()
    }

    /// Removes every key and marks the session modified, even when it was already empty.
    ///
    /// ```
    /// # use axum::extract::FromRequestParts;
    /// # use axum_session_store::{Session, SessionConfig};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let secret = "an example secret, at least 32 bytes long";
    /// # let config = SessionConfig::builder().secret_key(secret).build()?;
    /// # let (mut parts, ()) = axum::http::Request::new(()).into_parts();
    /// let session: Session = Session::from_request_parts(&mut parts, &config).await?;
    /// session.insert("a", 1)?;
    /// session.clear();
    /// assert!(session.is_empty() && session.is_modified());
    /// # Ok(()) }
    /// ```
    pub fn clear(&self) {
        self.state.lock().clear();
    }

    /// True when no valid session came with the request.
    ///
    /// ```
    /// # use axum::extract::FromRequestParts;
    /// # use axum_session_store::{Session, SessionConfig};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let secret = "an example secret, at least 32 bytes long";
    /// # let config = SessionConfig::builder().secret_key(secret).build()?;
    /// # let (mut parts, ()) = axum::http::Request::new(()).into_parts();
    /// let session: Session = Session::from_request_parts(&mut parts, &config).await?;
    /// assert!(session.is_new(), "the request carried no session cookie");
    /// # Ok(()) }
    /// ```
    pub fn is_new(&self) -> bool {
        self.state.lock().is_new()
    }

    /// True when a mutating call happened since the session was loaded (or saved).
    ///
    /// ```
    /// # use axum::extract::FromRequestParts;
    /// # use axum_session_store::{Session, SessionConfig};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let secret = "an example secret, at least 32 bytes long";
    /// # let config = SessionConfig::builder().secret_key(secret).build()?;
    /// # let (mut parts, ()) = axum::http::Request::new(()).into_parts();
    /// let session: Session = Session::from_request_parts(&mut parts, &config).await?;
    /// assert!(!session.is_modified());
    /// let _ = session.get_value("a");
    /// assert!(!session.is_modified(), "reads never modify");
    /// session.insert("a", 1)?;
    /// assert!(session.is_modified());
    /// # Ok(()) }
    /// ```
    pub fn is_modified(&self) -> bool {
        self.state.lock().is_modified()
    }

    /// Ends the session (logout): removes every key and, when saved, deletes the server-side
    /// record and tells the browser to delete the cookie (same `Path` and `Domain`). Keys set
    /// afterwards start a new session, with a new id, instead.
    ///
    /// tower-sessions and Django call it `flush`; axum_session, `destroy`.
    ///
    /// ```
    /// # use axum::extract::FromRequestParts;
    /// # use axum_session_store::{Session, SessionConfig};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let secret = "an example secret, at least 32 bytes long";
    /// # let config = SessionConfig::builder().secret_key(secret).build()?;
    /// # let (mut parts, ()) = axum::http::Request::new(()).into_parts();
    /// let session: Session = Session::from_request_parts(&mut parts, &config).await?;
    /// session.insert("user", "ada")?;
    /// session.invalidate();
    /// assert!(session.is_empty());
    /// # Ok(()) }
    /// ```
    #[doc(alias = "flush")]
    #[doc(alias = "destroy")]
    #[doc(alias = "logout")]
    pub fn invalidate(&self) {
        let mut data = self.state.lock();
        data.invalidate();
        // A session that starts after a logout is a new one on the same device.
        if let (Keeper::Server { .. }, Some(device)) =
            (self.state.profile().keeper(), self.store.new_device())
        {
            data.restart_device(device);
        }
    }

    /// Gives a server-side session a new id, keeping its data; the record under the old id is
    /// deleted when the session is saved. Call it when privileges change (at login) so that an
    /// id planted in the browser beforehand is worth nothing: the session fixation defence.
    ///
    /// Cookie sessions have no id; for them this only marks the session modified, so a fresh
    /// cookie is written.
    ///
    /// tower-sessions calls it `cycle_id`; Django, `cycle_key`; axum_session, `renew`.
    ///
    /// ```
    /// use axum_session_store::{Session, SessionError};
    ///
    /// async fn login(session: Session) -> Result<Session, SessionError> {
    ///     session.regenerate_id(); // an id planted before login is worth nothing now
    ///     session.insert("user", "ada")?;
    ///     Ok(session)
    /// }
    /// ```
    #[doc(alias = "cycle_id")]
    #[doc(alias = "cycle_key")]
    #[doc(alias = "renew")]
    pub fn regenerate_id(&self) {
        self.state.lock().regenerate_id();
    }

    /// Gives this session a lifetime of its own ("remember me"), or with `None` the config's
    /// again: a browser-session cookie, an idle lifetime, or a fixed end (see [`Expiry`]). The
    /// cookie's `Max-Age` and the server record's TTL follow it, the server enforces it, and it
    /// is stored in the session, so later requests keep it. It marks the session modified.
    ///
    /// tower-sessions and Django call it `set_expiry`; axum_session, `set_longterm`.
    ///
    /// ```
    /// use axum::{routing::post, Form, Router};
    /// use axum_session_store::{Session, SessionConfig, SessionError};
    /// use axum_session_store::session::Expiry;
    /// use time::Duration;
    ///
    /// #[derive(serde::Deserialize)]
    /// struct Login { user: String, remember: Option<String> }
    ///
    /// async fn login(session: Session, Form(form): Form<Login>) -> Result<Session, SessionError> {
    ///     session.regenerate_id();
    ///     session.insert("user", &form.user)?;
    ///     session.set_expiry(Some(match form.remember {
    ///         Some(_) => Expiry::OnInactivity(Duration::days(30)),
    ///         None => Expiry::OnBrowserClose,
    ///     }));
    ///     Ok(session)
    /// }
    ///
    /// # fn main() -> Result<(), axum_session_store::ConfigError> {
    /// # let secret = "an example secret, at least 32 bytes long";
    /// let config = SessionConfig::builder().secret_key(secret).build()?;
    /// let app: Router = Router::new().route("/login", post(login)).with_state(config);
    /// # Ok(()) }
    /// ```
    #[doc(alias = "set_longterm")]
    #[doc(alias = "set_expiry_age")]
    pub fn set_expiry(&self, expiry: Option<Expiry>) {
        self.state.lock().set_expiry(expiry);
    }

    /// The lifetime this session chose with [`set_expiry`](Self::set_expiry), if any.
    ///
    /// ```
    /// # use axum::extract::FromRequestParts;
    /// # use axum_session_store::{Session, SessionConfig};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let secret = "an example secret, at least 32 bytes long";
    /// # let config = SessionConfig::builder().secret_key(secret).build()?;
    /// # let (mut parts, ()) = axum::http::Request::new(()).into_parts();
    /// let session: Session = Session::from_request_parts(&mut parts, &config).await?;
    /// use axum_session_store::session::Expiry;
    /// assert_eq!(session.expiry(), None);
    /// session.set_expiry(Some(Expiry::OnBrowserClose));
    /// assert_eq!(session.expiry(), Some(Expiry::OnBrowserClose));
    /// # Ok(()) }
    /// ```
    pub fn expiry(&self) -> Option<Expiry> {
        self.state.lock().meta().expiry
    }

    /// The id of a server-side session's record, for audit logs and admin pages; `None` for a
    /// cookie session, and for a new server-side session until it is first saved. The crate
    /// itself never logs it; `SessionId`'s `Debug` hides it.
    ///
    /// ```
    /// use axum_session_store::Session;
    ///
    /// /// An audit line for a server-side session (the memory, Redis or SQL backends).
    /// async fn audit(session: Session) -> String {
    ///     match session.id() {
    ///         Some(id) => format!("session {}", id.as_str()),
    ///         None => "a cookie session, or a new one".to_owned(),
    ///     }
    /// }
    /// ```
    pub fn id(&self) -> Option<SessionId> {
        self.state.lock().id().cloned()
    }
}

impl<N> Clone for Session<N> {
    fn clone(&self) -> Self {
        Self::new(self.state.clone(), self.store.clone())
    }
}

impl<N> fmt::Debug for Session<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let data = self.state.lock();
        f.debug_struct("Session")
            .field("name", &self.name())
            .field("len", &data.values().len())
            .field("is_new", &data.is_new())
            .field("is_modified", &data.is_modified())
            .finish_non_exhaustive()
    }
}

impl SessionStore {
    /// The session named by the marker `N`, as its extractor would give it.
    ///
    /// # Errors
    /// As [`get_session`](Self::get_session).
    ///
    /// ```
    /// use axum_session_store::{SessionError, SessionName, SessionStore};
    ///
    /// struct Cart;
    /// impl SessionName for Cart {
    ///     const NAME: &'static str = "cart";
    /// }
    ///
    /// async fn handler(store: SessionStore) -> Result<SessionStore, SessionError> {
    ///     let cart = store.session::<Cart>().await?;
    ///     cart.insert("items", 3)?;
    ///     Ok(store)
    /// }
    /// ```
    pub async fn session<N: SessionName>(&self) -> Result<Session<N>, SessionError> {
        let state = if name::is_default::<N>() {
            self.session_state(self.config().cookie_name(), None)
                .await?
        } else {
            self.session_state(N::NAME, None).await?
        };
        Ok(Session::new(state, self.clone()))
    }

    /// The session `name`, webapp2's `get_session(name)`: kept where the config says for that
    /// name (see
    /// [`SessionConfigBuilder::session_backend`](crate::SessionConfigBuilder::session_backend)),
    /// a signed cookie unless it says otherwise.
    ///
    /// The first call for a name loads the session (an empty new one when the request has no
    /// valid cookie for it, or its record is gone); later calls in the same request return the
    /// same session.
    ///
    /// # Errors
    /// - [`SessionError::Config`] when `name` is not a valid cookie name or breaks the cookie
    ///   prefix rules with its cookie attributes;
    /// - [`SessionError::TooManySessions`] when the request already opened
    ///   [`max_sessions_per_request`](crate::SessionConfigBuilder::max_sessions_per_request)
    ///   sessions;
    /// - [`SessionError::LayerMissing`] for a server-side backend on a route without the layer;
    /// - [`SessionError::Backend`] when the backend fails to load the record.
    ///
    /// ```
    /// use axum_session_store::{SessionError, SessionStore};
    ///
    /// async fn handler(store: SessionStore) -> Result<SessionStore, SessionError> {
    ///     // webapp2: self.session_store.get_session("prefs")
    ///     let prefs = store.get_session("prefs").await?;
    ///     prefs.insert("theme", "dark")?;
    ///     Ok(store)
    /// }
    /// ```
    pub async fn get_session(&self, name: &str) -> Result<Session<RuntimeName>, SessionError> {
        let state = self.session_state(name, None).await?;
        Ok(Session::new(state, self.clone()))
    }

    /// [`get_session`](Self::get_session) with webapp2's per-call `max_age`: the session is
    /// read as valid for `max_age` after its last save, in place of the configured max age
    /// (and its record lives that long after this request's save). It applies to the first
    /// call for a name in a request, which loads the session.
    ///
    /// # Errors
    /// As [`get_session`](Self::get_session).
    ///
    /// ```
    /// use axum::{routing::get, Router};
    /// use axum_session_store::{SessionConfig, SessionError, SessionStore};
    /// use time::Duration;
    ///
    /// /// A short-lived session for a checkout step, whatever the config's max age.
    /// async fn step(store: SessionStore) -> Result<SessionStore, SessionError> {
    ///     let checkout = store
    ///         .get_session_with_max_age("checkout", Duration::minutes(15))
    ///         .await?;
    ///     checkout.insert("step", 2)?;
    ///     Ok(store)
    /// }
    ///
    /// # fn main() -> Result<(), axum_session_store::ConfigError> {
    /// # let secret = "an example secret, at least 32 bytes long";
    /// let config = SessionConfig::builder().secret_key(secret).build()?;
    /// let app: Router = Router::new().route("/step", get(step)).with_state(config);
    /// # Ok(()) }
    /// ```
    pub async fn get_session_with_max_age(
        &self,
        name: &str,
        max_age: Duration,
    ) -> Result<Session<RuntimeName>, SessionError> {
        let state = self.session_state(name, Some(max_age)).await?;
        Ok(Session::new(state, self.clone()))
    }
}
