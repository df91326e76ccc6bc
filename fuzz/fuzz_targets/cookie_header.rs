//! Arbitrary bytes as raw `Cookie` headers (split at `\n` into several headers) through a
//! router whose handlers use a signed session, an encrypted one, flashes, a signed cookie read
//! directly, and (behind the layer) a server-side one: never a panic, always a `200`, and every
//! session cookie the response sets reads back.

#![no_main]

use axum::http::HeaderValue;
use axum_session_store_fuzz::app::{cookie_app, layered_app, request, send};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&route, data)) = data.split_first() else {
        return;
    };
    let mut headers = Vec::new();
    for header in data.split(|&b| b == b'\n') {
        // Bytes that no header value can hold never reach a handler: skip the input.
        let Ok(header) = HeaderValue::from_bytes(header) else {
            return;
        };
        headers.push(header);
    }
    if route & 1 == 0 {
        send(cookie_app(), request("/cookies", headers, []));
    } else {
        send(layered_app(), request("/layered", headers, []));
    }
});
