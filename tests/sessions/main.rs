//! Session behaviour through a real `Router`: webapp2's semantics, what a save writes, the
//! layer, expiry policies, id cookies, encrypted cookies, and configuration errors.

use session_test_support as common;

mod bounds;
mod config_errors;
mod csrf;
mod events;
mod expiry_policies;
mod flash_templates;
mod id_cookie;
mod layer;
mod legacy_cookies;
mod private_cookie;
mod saving;
mod test_kit;
mod users;
mod webapp2_behaviour;
