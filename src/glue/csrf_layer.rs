//! [`CsrfLayer`]: refuses requests of unsafe methods that carry no valid CSRF token of the
//! session, with `403 Forbidden`.

use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::body::Body;
use axum::extract::Request;
use axum::http::header::CONTENT_TYPE;
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use tower_layer::Layer;
use tower_service::Service;

use crate::config::built::SessionConfig;
use crate::csrf_origin::{self, ForeignOrigin};
use crate::handles::csrf::{FORM_FIELD, HEADER};
use crate::name::{DefaultSession, SessionName};
use crate::request::saver::Saver;
use crate::request::store::SessionStore;

/// The largest form body the layer reads to find the token, unless
/// [`max_form_bytes`](CsrfLayer::max_form_bytes) says otherwise: 1 MiB.
pub(crate) const DEFAULT_MAX_FORM_BYTES: usize = 1024 * 1024;

/// CSRF protection for every route it wraps: a request of an unsafe method (anything but
/// `GET`, `HEAD`, `OPTIONS` and `TRACE`) must carry a CSRF token of session `N` (default: the
/// default session), in the header `X-CSRF-Token`, or for an `application/x-www-form-urlencoded`
/// body in the field `csrf_token`; otherwise it is answered `403 Forbidden` and the handler never
/// runs. Tokens come from [`CsrfToken`](crate::csrf::CsrfToken) or
/// [`Session::csrf_token`](crate::Session::csrf_token); they are compared in constant time, and
/// one from another session (or from before `regenerate_id()`) fails.
///
/// Before any token, it checks where the request comes from, as Django and Rails do: a request
/// whose `Sec-Fetch-Site` is `cross-site`, or whose `Origin` (else its `Referer`) is neither the
/// request's own host nor one of the [`trusted_origins`](Self::trusted_origins), is refused with
/// `403` whatever token it carries (a token can be stolen or planted with a cookie from a
/// sibling subdomain; the browser's `Origin` cannot be forged by a page). A request with
/// neither header (old clients) is judged by its token alone. These checks read headers only,
/// before any body is buffered; a session without a CSRF secret is refused before its body is
/// read, too. A request whose cookie names a record that no longer exists (deleted or moved
/// by another request, such as the other click of a double-clicked login, or expired) is no
/// forgery but a conflict: it is answered as [`SessionLayer`](crate::SessionLayer) answers
/// conflicts, `409 Conflict` or its [`on_conflict`](crate::SessionLayer::on_conflict) handler,
/// and leaves the browser's cookie alone.
///
/// Add it inside the session layer (so before it in the builder chain), which saves the secret
/// a token creates. Other bodies (`multipart/form-data`, JSON) must send the header. Refusals are
/// logged at `debug` level only: anyone can send them. Name the session cookie with the
/// `__Host-` prefix (`cookie_name("__Host-session")`, served over HTTPS): a sibling subdomain
/// cannot set such a cookie, so it cannot plant its own session, and token, in your users'
/// browsers.
///
/// ```
/// use axum::{routing::get, Router};
/// use axum_session_store::SessionConfig;
/// use axum_session_store::csrf::{CsrfLayer, CsrfToken};
///
/// async fn form(csrf: CsrfToken) -> String {
///     format!(r#"<form method="post"><input type="hidden" name="csrf_token" value="{csrf}"></form>"#)
/// }
///
/// # fn main() -> Result<(), axum_session_store::ConfigError> {
/// # let secret = "an example secret, at least 32 bytes long";
/// let config = SessionConfig::builder().secret_key(secret).build()?;
/// let app: Router = Router::new()
///     .route("/form", get(form).post(|| async { "saved" }))
///     .layer(CsrfLayer::new(config.clone()))
///     .layer(config.layer())
///     .with_state(config);
/// # Ok(()) }
/// ```
pub struct CsrfLayer<N = DefaultSession> {
    config: SessionConfig,
    max_form_bytes: usize,
    trusted_origins: Arc<[String]>,
    name: PhantomData<fn() -> N>,
}

impl CsrfLayer {
    /// The most bytes of a form body the layer reads to find its token unless
    /// [`max_form_bytes`](Self::max_form_bytes) says otherwise: 1 MiB.
    pub const DEFAULT_MAX_FORM_BYTES: usize = DEFAULT_MAX_FORM_BYTES;

    /// The layer, checking tokens of the default session of `config`.
    ///
    /// ```
    /// use axum::{routing::post, Router};
    /// use axum_session_store::SessionConfig;
    /// use axum_session_store::csrf::CsrfLayer;
    ///
    /// # let secret = "an example secret, at least 32 bytes long";
    /// let config = SessionConfig::builder().secret_key(secret).build()?;
    /// let app: Router = Router::new()
    ///     .route("/comment", post(|| async { "saved" }))
    ///     .layer(CsrfLayer::new(config.clone()))
    ///     .with_state(config);
    /// # Ok::<(), axum_session_store::ConfigError>(())
    /// ```
    pub fn new(config: SessionConfig) -> Self {
        Self::for_session(config)
    }
}

impl<N> CsrfLayer<N> {
    /// The layer, checking tokens of session `N` of `config` (`CsrfLayer::<Admin>::for_session`).
    ///
    /// ```
    /// use axum_session_store::{SessionConfig, SessionName};
    /// use axum_session_store::csrf::CsrfLayer;
    ///
    /// struct Admin;
    /// impl SessionName for Admin {
    ///     const NAME: &'static str = "admin";
    /// }
    ///
    /// # let secret = "an example secret, at least 32 bytes long";
    /// let config = SessionConfig::builder().secret_key(secret).build()?;
    /// let layer = CsrfLayer::<Admin>::for_session(config);
    /// # Ok::<(), axum_session_store::ConfigError>(())
    /// ```
    pub fn for_session(config: SessionConfig) -> Self {
        Self {
            config,
            max_form_bytes: DEFAULT_MAX_FORM_BYTES,
            trusted_origins: Arc::from([]),
            name: PhantomData,
        }
    }

    /// Reads form bodies of at most `bytes` bytes to find the token (default
    /// [`DEFAULT_MAX_FORM_BYTES`](Self::DEFAULT_MAX_FORM_BYTES)); a larger form without the header is `413 Payload Too Large`.
    ///
    /// ```
    /// use axum_session_store::SessionConfig;
    /// use axum_session_store::csrf::CsrfLayer;
    ///
    /// # let secret = "an example secret, at least 32 bytes long";
    /// let config = SessionConfig::builder().secret_key(secret).build()?;
    /// let layer = CsrfLayer::new(config).max_form_bytes(64 * 1024);
    /// # Ok::<(), axum_session_store::ConfigError>(())
    /// ```
    #[must_use]
    pub fn max_form_bytes(mut self, bytes: usize) -> Self {
        self.max_form_bytes = bytes;
        self
    }
}

impl<N> CsrfLayer<N> {
    /// Origins besides the request's own host whose unsafe requests pass the origin check
    /// (Django's `CSRF_TRUSTED_ORIGINS`): each `scheme://host[:port]`, such as a separate
    /// front-end at `https://app.example.com`. They still need a valid token.
    ///
    /// ```
    /// use axum_session_store::SessionConfig;
    /// use axum_session_store::csrf::CsrfLayer;
    ///
    /// # let secret = "an example secret, at least 32 bytes long";
    /// let config = SessionConfig::builder().secret_key(secret).build()?;
    /// let layer = CsrfLayer::new(config).trusted_origins(["https://app.example.com"]);
    /// # Ok::<(), axum_session_store::ConfigError>(())
    /// ```
    #[must_use]
    pub fn trusted_origins<I>(mut self, origins: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        self.trusted_origins = origins.into_iter().map(Into::into).collect();
        self
    }
}

impl<N> Clone for CsrfLayer<N> {
    fn clone(&self) -> Self {
        Self {
            config: self.config.clone(),
            max_form_bytes: self.max_form_bytes,
            trusted_origins: self.trusted_origins.clone(),
            name: PhantomData,
        }
    }
}

impl<N> fmt::Debug for CsrfLayer<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CsrfLayer")
            .field("max_form_bytes", &self.max_form_bytes)
            .field("trusted_origins", &self.trusted_origins)
            .finish_non_exhaustive()
    }
}

impl<S, N> Layer<S> for CsrfLayer<N> {
    type Service = CsrfService<S, N>;

    fn layer(&self, inner: S) -> Self::Service {
        CsrfService {
            inner,
            layer: self.clone(),
        }
    }
}

/// The service that [`CsrfLayer`] wraps around a router or handler.
pub struct CsrfService<S, N = DefaultSession> {
    inner: S,
    layer: CsrfLayer<N>,
}

impl<S: Clone, N> Clone for CsrfService<S, N> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            layer: self.layer.clone(),
        }
    }
}

impl<S: fmt::Debug, N> fmt::Debug for CsrfService<S, N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CsrfService")
            .field("inner", &self.inner)
            .field("layer", &self.layer)
            .finish()
    }
}

/// Why a request was refused.
#[derive(Debug)]
enum Refusal {
    Missing,
    Invalid,
    FormTooLarge,
    Foreign(ForeignOrigin),
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        tracing::debug!(reason = ?self, "request refused by the CSRF check");
        match self {
            Refusal::Missing => (StatusCode::FORBIDDEN, "Forbidden: CSRF token missing"),
            Refusal::Invalid => (StatusCode::FORBIDDEN, "Forbidden: CSRF token invalid"),
            Refusal::FormTooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "Payload Too Large"),
            Refusal::Foreign(ForeignOrigin::CrossSite) => (
                StatusCode::FORBIDDEN,
                "Forbidden: cross-site request refused",
            ),
            Refusal::Foreign(ForeignOrigin::Origin) => {
                (StatusCode::FORBIDDEN, "Forbidden: origin not allowed")
            }
            Refusal::Foreign(ForeignOrigin::Referer) => {
                (StatusCode::FORBIDDEN, "Forbidden: referer not allowed")
            }
        }
        .into_response()
    }
}

/// Whether a request of `method` cannot change anything, by HTTP's rules.
fn is_safe(method: &Method) -> bool {
    matches!(
        *method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE
    )
}

/// The value of the field `csrf_token` in a urlencoded form body. A token is URL-safe base64,
/// which browsers send as it is; an escaped value is no token.
/// Whether a `Content-Type` is a urlencoded form (media types are case-insensitive).
fn is_form(content_type: &str) -> bool {
    let media_type = content_type.split(';').next().unwrap_or_default().trim();
    media_type.eq_ignore_ascii_case("application/x-www-form-urlencoded")
}

fn form_token(body: &[u8]) -> Option<String> {
    body.split(|&b| b == b'&').find_map(|pair| {
        let value = pair
            .strip_prefix(FORM_FIELD.as_bytes())?
            .strip_prefix(b"=")?;
        std::str::from_utf8(value).ok().map(str::to_owned)
    })
}

impl<S, N> Service<Request> for CsrfService<S, N>
where
    S: Service<Request, Response = Response> + Clone + Send + 'static,
    S::Future: Send + 'static,
    N: SessionName,
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
        if is_safe(request.method()) {
            return Box::pin(inner.call(request));
        }
        let layer = self.layer.clone();
        // The cheap checks first: the headers say where the request comes from.
        let authority = csrf_origin::uri_authority(request.uri());
        if let Err(foreign) =
            csrf_origin::check(request.headers(), authority, &layer.trusted_origins)
        {
            return Box::pin(async move { Ok(Refusal::Foreign(foreign).into_response()) });
        }
        Box::pin(async move {
            let store = match request.extensions().get::<SessionStore>() {
                Some(store) => store.clone(),
                None => {
                    let store = SessionStore::new(
                        layer.config.clone(),
                        request.headers(),
                        request.extensions(),
                        Saver::Guard,
                    );
                    request.extensions_mut().insert(store.clone());
                    store
                }
            };
            let session = match store.session::<N>().await {
                Ok(session) => session,
                Err(error) => return Ok(error.into_response()),
            };
            if !session.has_csrf_secret() && session.lost_its_record() {
                // Not a forgery: the session was deleted or moved under this request (the
                // other click of a double-clicked login). A conflict, which the session layer
                // answers as it answers any other.
                let conflict = session.refuse_as_conflict();
                return Ok(if store.saver() == Saver::LayerPending {
                    // The session layer's answer replaces this one.
                    StatusCode::CONFLICT.into_response()
                } else {
                    conflict.into_response()
                });
            }
            let header = request
                .headers()
                .get(HEADER)
                .and_then(|value| value.to_str().ok())
                .map(str::to_owned);
            let is_form = request
                .headers()
                .get(CONTENT_TYPE)
                .and_then(|value| value.to_str().ok())
                .is_some_and(is_form);
            let token = match header {
                Some(token) => Some(token),
                // A session without a secret accepts no token: no need to read the body.
                None if is_form && session.has_csrf_secret() => {
                    let (parts, body) = request.into_parts();
                    let bytes = match axum::body::to_bytes(body, layer.max_form_bytes).await {
                        Ok(bytes) => bytes,
                        Err(_) => return Ok(Refusal::FormTooLarge.into_response()),
                    };
                    let token = form_token(&bytes);
                    request = Request::from_parts(parts, Body::from(bytes));
                    token
                }
                None => None,
            };
            match token {
                None => Ok(Refusal::Missing.into_response()),
                Some(token) if !session.verify_csrf_token(&token) => {
                    Ok(Refusal::Invalid.into_response())
                }
                Some(_) => inner.call(request).await,
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_field_is_found_among_others() {
        assert_eq!(
            form_token(b"a=1&csrf_token=abc-_&b=2").as_deref(),
            Some("abc-_")
        );
        assert_eq!(form_token(b"csrf_token=x").as_deref(), Some("x"));
        assert_eq!(form_token(b"xcsrf_token=x&csrf_tokens=y"), None);
        assert_eq!(form_token(b""), None);
    }

    #[test]
    fn form_media_types_are_compared_without_regard_to_case() {
        assert!(is_form("application/x-www-form-urlencoded"));
        assert!(is_form("Application/X-WWW-Form-URLEncoded; charset=UTF-8"));
        assert!(!is_form("application/x-www-form-urlencoded-not"));
        assert!(!is_form("multipart/form-data; boundary=x"));
    }

    #[test]
    fn safe_methods_are_the_four_of_http() {
        assert!(is_safe(&Method::GET) && is_safe(&Method::HEAD));
        assert!(!is_safe(&Method::POST) && !is_safe(&Method::DELETE) && !is_safe(&Method::PATCH));
    }
}
