//! The caching headers a response that uses a session needs, so that no shared cache ever hands
//! one visitor's session to another.

use axum::http::header::{CACHE_CONTROL, VARY};
use axum::http::{HeaderMap, HeaderValue};

/// Marks a response that read a session as depending on the `Cookie` header: `Vary: Cookie`,
/// unless it varies on `Cookie` (or on everything) already.
pub(crate) fn vary_on_cookie(headers: &mut HeaderMap) {
    let varies = headers
        .get_all(VARY)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .any(|field| field == "*" || field.eq_ignore_ascii_case("cookie"));
    if !varies {
        headers.append(VARY, HeaderValue::from_static("Cookie"));
    }
}

/// Keeps a response that sets a session cookie out of shared caches: `Cache-Control: private`,
/// unless the handler chose its own caching.
pub(crate) fn private_unless_set(headers: &mut HeaderMap) {
    if !headers.contains_key(CACHE_CONTROL) {
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("private"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vary(values: &[&'static str]) -> Vec<String> {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append(VARY, HeaderValue::from_static(value));
        }
        vary_on_cookie(&mut headers);
        headers
            .get_all(VARY)
            .iter()
            .map(|v| v.to_str().unwrap_or_default().to_owned())
            .collect()
    }

    #[test]
    fn cookie_is_added_once() {
        assert_eq!(vary(&[]), ["Cookie"]);
        assert_eq!(vary(&["Accept-Encoding"]), ["Accept-Encoding", "Cookie"]);
        assert_eq!(vary(&["accept, COOKIE"]), ["accept, COOKIE"]);
        assert_eq!(vary(&["*"]), ["*"]);
    }

    #[test]
    fn a_handler_s_cache_control_stays() {
        let mut headers = HeaderMap::new();
        private_unless_set(&mut headers);
        assert_eq!(headers[CACHE_CONTROL], "private");
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
        private_unless_set(&mut headers);
        assert_eq!(headers[CACHE_CONTROL], "no-store");
    }
}
