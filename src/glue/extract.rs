//! The extractors: [`SessionStore`], [`Session<N>`], [`Flash<N>`] and [`CsrfToken<N>`] from
//! request parts.

use std::convert::Infallible;

use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;

use crate::config::built::SessionConfig;
use crate::error::SessionError;
use crate::handles::csrf::CsrfToken;
use crate::handles::flash::Flash;
use crate::handles::session::Session;
use crate::name::SessionName;
use crate::request::saver::Saver;
use crate::request::store::SessionStore;

impl<S> FromRequestParts<S> for SessionStore
where
    S: Send + Sync,
    SessionConfig: FromRef<S>,
{
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        if let Some(store) = parts.extensions.get::<SessionStore>() {
            return Ok(store.clone());
        }
        let store = SessionStore::new(
            SessionConfig::from_ref(state),
            &parts.headers,
            &parts.extensions,
            Saver::Guard,
        );
        parts.extensions.insert(store.clone());
        Ok(store)
    }
}

impl<S, N> FromRequestParts<S> for Session<N>
where
    S: Send + Sync,
    SessionConfig: FromRef<S>,
    N: SessionName,
{
    type Rejection = SessionError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Ok(store) = SessionStore::from_request_parts(parts, state).await;
        store.session::<N>().await
    }
}

impl<S, N> FromRequestParts<S> for Flash<N>
where
    S: Send + Sync,
    SessionConfig: FromRef<S>,
    N: SessionName,
{
    type Rejection = SessionError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let session = Session::<N>::from_request_parts(parts, state).await?;
        Ok(Flash { session })
    }
}

impl<S, N> FromRequestParts<S> for CsrfToken<N>
where
    S: Send + Sync,
    SessionConfig: FromRef<S>,
    N: SessionName,
{
    type Rejection = SessionError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        CsrfToken::of(Session::<N>::from_request_parts(parts, state).await?)
    }
}
