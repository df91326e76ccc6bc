//! Flask session cookies, raw or signed with the old app's secret around arbitrary bytes,
//! through the app with a `LegacyCookie::flask` reader: never a panic, always a `200`, and every
//! cookie the upgrade sets reads back.

#![no_main]

use axum_session_store_fuzz::legacy::{run, Format};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| run(Format::Flask, data));
