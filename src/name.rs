//! Session names as types: [`SessionName`] markers for [`Session<N>`](crate::Session).

use std::any::TypeId;

/// The default cookie name of the default session.
pub(crate) const DEFAULT_COOKIE_NAME: &str = "session";

/// Names a session at the type level, for `Session<N>` and `Flash<N>`. Where it keeps its data
/// is the config's to say
/// ([`SessionConfigBuilder::session_backend`](crate::SessionConfigBuilder::session_backend)): a
/// signed cookie unless given another.
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
}

/// The default session: its cookie name is the configured `cookie_name` (default `"session"`),
/// its storage the configured `default_backend` (default a signed cookie).
/// `Session` alone means `Session<DefaultSession>`.
#[derive(Clone, Copy, Debug, Default)]
pub struct DefaultSession;

impl SessionName for DefaultSession {
    const NAME: &'static str = DEFAULT_COOKIE_NAME;
}

/// Whether `N` is [`DefaultSession`], whose name and backend the config sets.
pub(crate) fn is_default<N: SessionName>() -> bool {
    TypeId::of::<N>() == TypeId::of::<DefaultSession>()
}

/// The marker of sessions whose name was chosen at run time, with
/// [`SessionStore::get_session`](crate::SessionStore::get_session).
#[derive(Clone, Copy, Debug, Default)]
pub struct RuntimeName;
