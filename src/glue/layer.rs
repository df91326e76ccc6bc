//! [`SessionLayer`]: saves every session after the handler, awaiting server-side backends.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::extract::Request;
use axum::http::header::SET_COOKIE;
use axum::response::{IntoResponse, Response};
use tower_layer::Layer;
use tower_service::Service;

use crate::config::built::SessionConfig;
use crate::conflict::{Conflict, ConflictHandler};
use crate::error::SessionError;
use crate::request::saver::Saver;
use crate::request::store::SessionStore;

impl SessionConfig {
    /// The layer that loads and saves sessions around every handler, awaiting server-side
    /// backends: [`SessionLayer::new`] of this config. Required for server-side sessions;
    /// optional for cookie sessions, which it then saves without the handler returning them.
    ///
    /// ```
    /// use axum::{routing::get, Router};
    /// use axum_session_store::SessionConfig;
    ///
    /// # fn main() -> Result<(), axum_session_store::ConfigError> {
    /// # let secret = "an example secret, at least 32 bytes long";
    /// let config = SessionConfig::builder().secret_key(secret).build()?;
    /// let app: Router = Router::new()
    ///     .route("/", get(|| async { "hi" }))
    ///     .layer(config.layer())
    ///     .with_state(config);
    /// # Ok(()) }
    /// ```
    pub fn layer(&self) -> SessionLayer {
        SessionLayer::new(self.clone())
    }
}

/// The session middleware, made by [`SessionConfig::layer`], [`SessionLayer::new`] or
/// `SessionLayer::from(config)`.
///
/// Before the handler it puts the request's [`SessionStore`] in the request extensions, where
/// the extractors find it. After the handler it saves every modified session, whether the
/// handler returned it or not: it awaits the server-side backends, then adds the `Set-Cookie`
/// headers (a returned guard leaves the saving to the layer). When a save fails, the handler's
/// response is replaced by a `500` without any `Set-Cookie`, and the cause is logged: a lost
/// write never looks like a success.
///
/// - A server error (a `5xx` from the handler) saves nothing: the request failed, so its
///   changes are dropped, as Django and tower-sessions do.
/// - A session deleted or moved to a new id while the request ran (a logout in another tab,
///   the other click of a double-clicked login) is the client's conflict, not a failure: the
///   request saves nothing, its response sets no cookie (so the browser keeps the cookie the
///   winning request gave it) and answers `409 Conflict`, or what
///   [`on_conflict`](Self::on_conflict) says.
/// - A response that used a session gets `Vary: Cookie`; one that sets a session cookie gets
///   `Cache-Control: private` unless the handler set a `Cache-Control` of its own.
/// - A middleware outside the layer may extract cookie sessions: the layer adopts the store it
///   made and saves it. A server-side session needs the layer around it, so add the layer
///   last (outermost).
///
/// Server-side sessions (memory, Redis, SQL, your own backend) need it; cookie sessions work
/// with or without it.
///
/// ```
/// use axum::{routing::get, Router};
/// use axum_session_store::backend::MemoryBackend;
/// use axum_session_store::{Session, SessionConfig, SessionName};
///
/// struct Cart;
/// impl SessionName for Cart {
///     const NAME: &'static str = "cart";
/// }
///
/// async fn add(cart: Session<Cart>) -> String {
///     let items: u32 = cart.get("items").ok().flatten().unwrap_or(0) + 1;
///     let _ = cart.insert("items", items);
///     format!("{items} items") // the layer saves the cart; no need to return it
/// }
///
/// # fn main() -> Result<(), axum_session_store::ConfigError> {
/// # let secret = "an example secret, at least 32 bytes long";
/// let config = SessionConfig::builder()
///     .secret_key(secret)
///     .session_backend::<Cart>(MemoryBackend::new())
///     .build()?;
/// let app: Router = Router::new()
///     .route("/add", get(add))
///     .layer(config.layer())
///     .with_state(config);
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
#[doc(alias = "SessionManagerLayer")]
pub struct SessionLayer {
    config: SessionConfig,
    on_conflict: Option<ConflictHandler>,
}

impl SessionLayer {
    /// The layer for `config`, as tower's layers are made.
    ///
    /// ```
    /// use axum::{routing::get, Router};
    /// use axum_session_store::{SessionConfig, SessionLayer};
    ///
    /// # fn main() -> Result<(), axum_session_store::ConfigError> {
    /// # let secret = "an example secret, at least 32 bytes long";
    /// let config = SessionConfig::builder().secret_key(secret).build()?;
    /// let app: Router = Router::new()
    ///     .route("/", get(|| async { "hi" }))
    ///     .layer(SessionLayer::new(config.clone()))
    ///     .with_state(config);
    /// # Ok(()) }
    /// ```
    pub fn new(config: SessionConfig) -> Self {
        Self {
            config,
            on_conflict: None,
        }
    }

    /// Answers a request whose session was deleted or moved under it (see [`Conflict`]) with
    /// `handler`'s response instead of `409 Conflict`. The response carries no session cookie
    /// whatever the handler returns, so the browser keeps the cookie of the request that won.
    ///
    /// ```
    /// use axum::response::{IntoResponse, Redirect};
    /// use axum::{routing::post, Router};
    /// use axum_session_store::SessionConfig;
    ///
    /// # fn main() -> Result<(), axum_session_store::ConfigError> {
    /// # let secret = "an example secret, at least 32 bytes long";
    /// let config = SessionConfig::builder().secret_key(secret).build()?;
    /// // A double-clicked login: the click that lost the race goes where the winner went.
    /// let layer = config
    ///     .layer()
    ///     .on_conflict(|_conflict| Redirect::to("/").into_response());
    /// let app: Router = Router::new()
    ///     .route("/login", post(|| async { "logged in" }))
    ///     .layer(layer)
    ///     .with_state(config);
    /// # Ok(()) }
    /// ```
    #[must_use]
    pub fn on_conflict(
        mut self,
        handler: impl Fn(Conflict) -> Response + Send + Sync + 'static,
    ) -> Self {
        self.on_conflict = Some(ConflictHandler::new(handler));
        self
    }
}

impl From<SessionConfig> for SessionLayer {
    /// [`SessionLayer::new`].
    fn from(config: SessionConfig) -> Self {
        Self::new(config)
    }
}

impl<S> Layer<S> for SessionLayer {
    type Service = SessionService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        SessionService {
            inner,
            config: self.config.clone(),
            on_conflict: self.on_conflict.clone(),
        }
    }
}

/// The service that [`SessionLayer`] wraps around a router or handler.
#[derive(Clone, Debug)]
pub struct SessionService<S> {
    inner: S,
    config: SessionConfig,
    on_conflict: Option<ConflictHandler>,
}

impl<S> Service<Request> for SessionService<S>
where
    S: Service<Request, Response = Response> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request) -> Self::Future {
        // The clone that was polled ready handles this request; a fresh clone stays behind.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let store = match request.extensions().get::<SessionStore>() {
            // Made by an extractor in a middleware outside this layer: this layer saves it.
            Some(existing) if existing.adopt() => existing.clone(),
            // An outer session layer already manages this request.
            Some(_) => return Box::pin(inner.call(request)),
            None => {
                let store = SessionStore::new(
                    self.config.clone(),
                    request.headers(),
                    request.extensions(),
                    Saver::LayerPending,
                );
                request.extensions_mut().insert(store.clone());
                store
            }
        };
        // What a conflict handler is told: only kept when there is one.
        let on_conflict = self
            .on_conflict
            .clone()
            .map(|handler| (handler, request.method().clone(), request.uri().clone()));
        Box::pin(async move {
            let mut response = inner.call(request).await?;
            match store.save_for_layer(&mut response).await {
                Ok(()) => Ok(response),
                Err(error) => Ok(match (error, on_conflict) {
                    (SessionError::SessionGone { session }, Some((handler, method, uri))) => {
                        let mut answer = handler.answer(Conflict::new(session, method, uri));
                        // The browser keeps the cookie the winning request gave it.
                        answer.headers_mut().remove(SET_COOKIE);
                        answer
                    }
                    (error, _) => error.into_response(),
                }),
            }
        })
    }
}
