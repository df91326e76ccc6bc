//! The request's `Cookie` headers, parsed once per request in time linear in their size.

use std::ops::Range;

use axum::http::header::COOKIE;
use axum::http::HeaderMap;

/// How many `;`-separated pairs of the request's `Cookie` headers are read unless
/// [`SessionConfigBuilder::max_cookie_pairs`](crate::SessionConfigBuilder::max_cookie_pairs)
/// says otherwise; later pairs are ignored.
///
/// Browsers keep at most about 180 cookies per domain and send only those whose domain and path
/// match, so a real request carries far fewer; the cap bounds what a forged header can cost.
pub(crate) const DEFAULT_MAX_COOKIE_PAIRS: usize = 512;

/// Name-value pairs of the request's cookies.
///
/// When a name appears more than once (a browser sends every cookie whose domain and path match,
/// most specific path first), the **first** occurrence wins and the others are ignored. This
/// is deterministic, matches RFC 6265's ordering, and is what Go's `net/http` and Rack do.
///
/// Parsing is one pass over the headers that keeps every pair in order, without comparing
/// names: a lookup takes the first pair of its name. At most `max_pairs` pairs are read (junk
/// pieces without `=` count too), so both parsing and a lookup cost at most that many steps.
/// The pairs are kept as ranges into one copy of their text: two buffers per request, however
/// many cookies it carries.
#[derive(Debug, Default)]
pub(crate) struct RequestCookies {
    text: String,
    /// `(name, value)` byte ranges into `text`, in header order.
    pairs: Vec<(Range<usize>, Range<usize>)>,
}

impl RequestCookies {
    /// The pairs of `headers`' `Cookie` headers, up to `max_pairs` of them.
    pub(crate) fn from_headers(headers: &HeaderMap, max_pairs: usize) -> Self {
        let mut cookies = Self::default();
        let mut pieces = headers
            .get_all(COOKIE)
            .iter()
            .flat_map(|header| header.as_bytes().split(|&b| b == b';'))
            .take(max_pairs);
        let first = pieces.next();
        if first.is_none() {
            return cookies;
        }
        let header_bytes: usize = headers.get_all(COOKIE).iter().map(|h| h.len()).sum();
        cookies.text.reserve(header_bytes.min(MAX_RESERVED_TEXT));
        for piece in first.into_iter().chain(pieces) {
            if let Some((name, value)) = parse_pair(piece) {
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

    /// The values of every cookie called `name`, in header order. A browser sends several when
    /// it holds cookies of one name for several paths or domains (the longest path first).
    pub(crate) fn get_all<'s, 'n>(
        &'s self,
        name: &'n str,
    ) -> impl Iterator<Item = &'s str> + use<'s, 'n> {
        self.pairs
            .iter()
            .filter(move |(n, _)| self.text.get(n.clone()) == Some(name))
            .filter_map(|(_, v)| self.text.get(v.clone()))
    }

    /// The first value of the cookies called `name` that `verify` accepts; when none does, the
    /// error of the first; `None` when the request has no such cookie. Another cookie of the
    /// same name (an old app's, for a longer path) then never hides a valid one.
    pub(crate) fn first_verified<T, E>(
        &self,
        name: &str,
        mut verify: impl FnMut(&str) -> Result<T, E>,
    ) -> Option<Result<T, E>> {
        let mut first_error = None;
        for value in self.get_all(name) {
            match verify(value) {
                Ok(verified) => return Some(Ok(verified)),
                Err(error) => {
                    first_error.get_or_insert(error);
                }
            }
        }
        first_error.map(Err)
    }
}

/// The most text reserved up front: a typical header fits, a huge one grows as it is read.
const MAX_RESERVED_TEXT: usize = 8 * 1024;

/// `name=value` of one piece, trimmed and unquoted; `None` for a piece that is no pair, has an
/// empty name, or is not UTF-8 (it belongs to someone else's cookie: skip just that one).
fn parse_pair(piece: &[u8]) -> Option<(&str, &str)> {
    let mut parts = piece.splitn(2, |&b| b == b'=');
    let (name, value) = (parts.next()?.trim_ascii(), parts.next()?.trim_ascii());
    let value = value
        .strip_prefix(b"\"")
        .and_then(|v| v.strip_suffix(b"\""))
        .unwrap_or(value);
    let name = std::str::from_utf8(name).ok().filter(|n| !n.is_empty())?;
    Some((name, std::str::from_utf8(value).ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn parse_with(headers: &[&[u8]], max_pairs: usize) -> RequestCookies {
        let mut map = HeaderMap::new();
        for h in headers {
            map.append(COOKIE, HeaderValue::from_bytes(h).expect("valid header"));
        }
        RequestCookies::from_headers(&map, max_pairs)
    }

    fn parse(headers: &[&[u8]]) -> RequestCookies {
        parse_with(headers, DEFAULT_MAX_COOKIE_PAIRS)
    }

    impl RequestCookies {
        fn get(&self, name: &str) -> Option<&str> {
            self.get_all(name).next()
        }
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
    fn every_value_of_a_name_is_seen_and_the_first_verified_wins() {
        let cookies = parse(&[b"a=old; b=2; a=mine", b"a=late"]);
        assert_eq!(
            cookies.get_all("a").collect::<Vec<_>>(),
            ["old", "mine", "late"]
        );
        let verify = |value: &str| {
            if value == "old" {
                Err(value.len())
            } else {
                Ok(value.to_owned())
            }
        };
        assert_eq!(
            cookies.first_verified("a", verify),
            Some(Ok("mine".to_owned()))
        );
        assert_eq!(
            cookies.first_verified("b", |_| Err::<(), _>(7)),
            Some(Err(7))
        );
        assert_eq!(cookies.first_verified("c", verify), None);
    }

    #[test]
    fn junk_pairs_are_skipped_not_fatal() {
        let cookies = parse(&[b"noequals; =x; other=\xff\xfe; good=yes"]);
        assert_eq!(cookies.get("good"), Some("yes"));
        assert_eq!(cookies.get("other"), None);
    }

    #[test]
    fn pairs_past_the_cap_are_not_read() {
        // Junk pieces count towards the cap: they cost as much to skip as pairs to keep.
        let cookies = parse_with(&[b"a=1; junk; b=2", b"c=3"], 3);
        assert_eq!(cookies.get("a"), Some("1"));
        assert_eq!(cookies.get("b"), Some("2"));
        assert_eq!(cookies.get("c"), None, "the fourth piece is past the cap");
        assert_eq!(cookies.pairs.len(), 2);
    }

    #[test]
    fn no_cookie_header_allocates_nothing() {
        let cookies = parse(&[]);
        assert_eq!(cookies.text.capacity(), 0);
        assert_eq!(cookies.pairs.capacity(), 0);
    }
}
