//! The Axum glue: the extractors, the `IntoResponseParts` guard, `SessionLayer`, `CsrfLayer`,
//! and `Flash` as a minijinja value.

pub(crate) mod csrf_layer;
mod extract;
#[cfg(feature = "minijinja")]
mod flash_template;
mod guard;
pub(crate) mod layer;
