//! The save guard: returning a [`SessionStore`], [`Session<N>`] or [`Flash<N>`] from a handler
//! saves every modified session of the request.
//!
//! Without a [`SessionLayer`](crate::SessionLayer) the guard writes the cookies itself; it cannot
//! see the response's status (axum sets it after the response parts), so it saves even in a
//! `5xx` response. With the layer, the guard leaves the saving to it: the layer sees the status
//! and saves nothing for a server error.

use axum::response::{IntoResponse, IntoResponseParts, Response, ResponseParts};

use crate::error::SessionError;
use crate::handles::flash::Flash;
use crate::handles::session::Session;
use crate::request::store::SessionStore;

impl IntoResponseParts for SessionStore {
    type Error = SessionError;

    fn into_response_parts(self, mut res: ResponseParts) -> Result<ResponseParts, Self::Error> {
        self.save_as_guard(res.headers_mut())?;
        Ok(res)
    }
}

impl<N> IntoResponseParts for Session<N> {
    type Error = SessionError;

    fn into_response_parts(self, res: ResponseParts) -> Result<ResponseParts, Self::Error> {
        self.store.into_response_parts(res)
    }
}

impl<N> IntoResponseParts for Flash<N> {
    type Error = SessionError;

    fn into_response_parts(self, res: ResponseParts) -> Result<ResponseParts, Self::Error> {
        self.session.into_response_parts(res)
    }
}

impl IntoResponse for SessionStore {
    /// An empty `200 OK` that saves the sessions.
    fn into_response(self) -> Response {
        (self, ()).into_response()
    }
}

impl<N> IntoResponse for Session<N> {
    /// An empty `200 OK` that saves the sessions.
    fn into_response(self) -> Response {
        self.store.into_response()
    }
}

impl<N> IntoResponse for Flash<N> {
    /// An empty `200 OK` that saves the sessions.
    fn into_response(self) -> Response {
        self.session.into_response()
    }
}
