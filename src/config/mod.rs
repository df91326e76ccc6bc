//! The settings tier: the built config and its builder, each session's resolved profile, and
//! where its data is kept, ready to use.

pub(crate) mod builder;
pub(crate) mod built;
pub(crate) mod keeper;
pub(crate) mod profile;
