//! Session names as types: [`SessionName`] markers for [`Session<N>`](crate::Session).

/// Names a session and its backend at the type level, for `Session<N>` and `Flash<N>`.
///
/// ```
/// use axum_session_store::{Session, SessionName};
///
/// /// The shopping cart, in its own cookie.
/// struct Cart;
///
/// impl SessionName for Cart {
///     const NAME: &'static str = "cart";
/// }
///
/// async fn add_to_cart(cart: Session<Cart>) -> Session<Cart> {
///     let _ = cart.insert("item", 42);
///     cart
/// }
/// ```
pub trait SessionName: Send + Sync + 'static {
    /// The session's name, which is also its cookie's name.
    const NAME: &'static str;
    /// The name of the backend that keeps the session's data. Default: the signed cookie.
    const BACKEND: &'static str = crate::backend::SECURE_COOKIE;

    /// The cookie name, given the config. Only the default session overrides this, to use the
    /// configured `cookie_name`.
    #[doc(hidden)]
    fn cookie_name(config: &crate::SessionConfig) -> &str {
        let _ = config;
        Self::NAME
    }

    /// The backend name, given the config. Only the default session overrides this, to use the
    /// configured `default_backend`.
    #[doc(hidden)]
    fn backend_name(config: &crate::SessionConfig) -> &str {
        let _ = config;
        Self::BACKEND
    }
}

/// The default session: its cookie name is the configured `cookie_name` (default `"session"`),
/// its backend the configured `default_backend` (default the signed cookie).
/// `Session` alone means `Session<DefaultSession>`.
#[derive(Clone, Copy, Debug, Default)]
pub struct DefaultSession;

impl SessionName for DefaultSession {
    const NAME: &'static str = crate::config::DEFAULT_COOKIE_NAME;

    fn cookie_name(config: &crate::SessionConfig) -> &str {
        config.cookie_name()
    }

    fn backend_name(config: &crate::SessionConfig) -> &str {
        config.default_backend()
    }
}

/// The marker of sessions whose name was chosen at run time, with
/// [`SessionStore::get_session`](crate::SessionStore::get_session).
#[derive(Clone, Copy, Debug, Default)]
pub struct RuntimeName;
