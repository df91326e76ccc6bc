//! Large requests built from a small description, through the router of `cookie_header` (and
//! its checks): a `Cookie` header of a unit repeated many times (many pairs, one long value,
//! many cookies of one name), many `Cookie` headers, a server-side session given many flash
//! messages then read back, or the input itself as one header.
//!
//! `fuzz/run.sh` runs it with a large `-max_len` and a short `-timeout`: a request whose cost
//! grows faster than its size takes seconds at these sizes, and a timeout is a failure.

#![no_main]

use arbitrary::Arbitrary;
use axum::http::HeaderValue;
use axum_session_store_fuzz::app::{
    cookie_app, layered_app, request, send, FLASH_COUNT, FLASH_TEXT,
};
use libfuzzer_sys::fuzz_target;

/// The most bytes of `Cookie` headers (or of flash text) one input builds: 1 MiB, 256 times the
/// 4 KiB a browser sends for one cookie.
const MAX_BUILT: usize = 1 << 20;

/// The most `Cookie` headers one input builds.
const MAX_HEADERS: usize = 10_000;

/// The most flash messages one input adds.
const MAX_FLASHES: usize = 10_000;

#[derive(Arbitrary, Debug)]
enum Shape {
    /// `head`, then `unit` `count` times, as one `Cookie` header.
    Repeated {
        layered: bool,
        head: Vec<u8>,
        unit: Vec<u8>,
        count: u32,
    },
    /// `unit` as `count` `Cookie` headers.
    Headers {
        layered: bool,
        unit: Vec<u8>,
        count: u16,
    },
    /// `count` flash messages of `text` added to a server-side session, then read back (with
    /// more added), then taken.
    Flashes { text: String, count: u16 },
    /// The bytes as they are, as one `Cookie` header.
    Raw { layered: bool, bytes: Vec<u8> },
}

/// `(layered, headers)`: the `Cookie` headers of a shape that has them.
fn cookie_headers(shape: &Shape) -> Option<(bool, Vec<Vec<u8>>)> {
    match shape {
        Shape::Repeated {
            layered,
            head,
            unit,
            count,
        } => {
            let count =
                (*count as usize).min(MAX_BUILT.saturating_sub(head.len()) / unit.len().max(1));
            let mut header = head.clone();
            for _ in 0..count {
                header.extend_from_slice(unit);
            }
            Some((*layered, vec![header]))
        }
        Shape::Headers {
            layered,
            unit,
            count,
        } => {
            let count = usize::from(*count)
                .min(MAX_HEADERS)
                .min(MAX_BUILT / unit.len().max(1));
            Some((*layered, vec![unit.clone(); count]))
        }
        Shape::Raw { layered, bytes } => Some((*layered, vec![bytes.clone()])),
        Shape::Flashes { .. } => None,
    }
}

fn flashes(text: &str, count: u16) {
    let count = usize::from(count)
        .min(MAX_FLASHES)
        .min(MAX_BUILT / (text.len() + 1));
    let (Ok(text), Ok(count)) = (
        HeaderValue::from_str(text),
        HeaderValue::from_str(&count.to_string()),
    ) else {
        return;
    };
    let app = layered_app();
    let add = || [(FLASH_COUNT, count.clone()), (FLASH_TEXT, text.clone())];
    let cookies = send(app.clone(), request("/flash/add", [], add()));
    let cookies = match send(app.clone(), request("/flash/add", cookies.clone(), add())) {
        // Saved again under the same id: the cookie may or may not be set again.
        again if again.is_empty() => cookies,
        again => again,
    };
    send(app, request("/flash/take", cookies, []));
}

fuzz_target!(|shape: Shape| {
    if let Shape::Flashes { text, count } = &shape {
        return flashes(text, *count);
    }
    let Some((layered, headers)) = cookie_headers(&shape) else {
        return;
    };
    let mut values = Vec::with_capacity(headers.len());
    for header in headers {
        // Bytes that no header value can hold never reach a handler: skip the input.
        let Ok(value) = HeaderValue::from_bytes(&header) else {
            return;
        };
        values.push(value);
    }
    if layered {
        send(layered_app(), request("/layered", values, []));
    } else {
        send(cookie_app(), request("/cookies", values, []));
    }
});
