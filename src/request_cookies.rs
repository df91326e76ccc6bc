//! The request's `Cookie` headers, parsed once per request.

use std::ops::Range;

use axum::http::header::COOKIE;
use axum::http::HeaderMap;

/// Name-value pairs of the request's cookies.
///
/// When a name appears more than once (a browser sends every cookie whose domain and path match,
/// most specific path first), the **first** occurrence wins and the others are ignored. This
/// is deterministic, matches RFC 6265's ordering, and is what Go's `net/http` and Rack do.
///
/// The pairs are kept as ranges into one copy of the header text: two allocations per request,
/// however many cookies it carries.
#[derive(Debug, Default)]
pub(crate) struct RequestCookies {
    text: String,
    /// `(name, value)` byte ranges into `text`.
    pairs: Vec<(Range<usize>, Range<usize>)>,
}

impl RequestCookies {
    pub(crate) fn from_headers(headers: &HeaderMap) -> Self {
        let mut cookies = Self::default();
        let header_bytes: usize = headers.get_all(COOKIE).iter().map(|h| h.len()).sum();
        cookies.text.reserve_exact(header_bytes);
        for header in headers.get_all(COOKIE) {
            for pair in header.as_bytes().split(|&b| b == b';') {
                let mut parts = pair.splitn(2, |&b| b == b'=');
                let (Some(name), Some(value)) = (parts.next(), parts.next()) else {
                    continue;
                };
                let name = name.trim_ascii();
                let value = value.trim_ascii();
                let value = value
                    .strip_prefix(b"\"")
                    .and_then(|v| v.strip_suffix(b"\""))
                    .unwrap_or(value);
                // A pair that is not UTF-8 belongs to someone else's cookie: skip just that one.
                let (Ok(name), Ok(value)) = (std::str::from_utf8(name), std::str::from_utf8(value))
                else {
                    continue;
                };
                if name.is_empty() || cookies.get(name).is_some() {
                    continue;
                }
                let name = cookies.push_text(name);
                let value = cookies.push_text(value);
                cookies.pairs.push((name, value));
            }
        }
        cookies
    }

    fn push_text(&mut self, part: &str) -> Range<usize> {
        let start = self.text.len();
        self.text.push_str(part);
        start..self.text.len()
    }

    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(n, _)| self.text.get(n.clone()) == Some(name))
            .and_then(|(_, v)| self.text.get(v.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn parse(headers: &[&[u8]]) -> RequestCookies {
        let mut map = HeaderMap::new();
        for h in headers {
            map.append(COOKIE, HeaderValue::from_bytes(h).expect("valid header"));
        }
        RequestCookies::from_headers(&map)
    }

    #[test]
    fn first_occurrence_wins_across_headers() {
        let cookies = parse(&[b"a=1; b=2; a=3", b"b=4; c=\"5\""]);
        assert_eq!(cookies.get("a"), Some("1"));
        assert_eq!(cookies.get("b"), Some("2"));
        assert_eq!(cookies.get("c"), Some("5"));
        assert_eq!(cookies.get("d"), None);
    }

    #[test]
    fn junk_pairs_are_skipped_not_fatal() {
        let cookies = parse(&[b"noequals; =x; other=\xff\xfe; good=yes"]);
        assert_eq!(cookies.get("good"), Some("yes"));
        assert_eq!(cookies.get("other"), None);
    }
}
