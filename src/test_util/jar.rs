//! [`CookieJar`]: a browser's cookie jar, reduced to what sessions need.

use axum::http::header::SET_COOKIE;
use axum::http::{HeaderMap, HeaderValue};

/// A browser's cookie jar for one site, reduced to what sessions need: names and values,
/// replaced by `Set-Cookie`, dropped by a removal (`Max-Age=0`, a negative `Max-Age`, or an
/// `Expires` in 1970), and sent back as one `Cookie` header in the order they were first set.
///
/// It ignores `Path`, `Domain` and `Secure` (every cookie goes back with every request), so it
/// suits tests of one site. Storing is cheap: it reuses its buffers and allocates only the new
/// `Cookie` header, so a load generator can keep one per connection.
///
/// ```
/// use axum_session_store::test_util::CookieJar;
///
/// let mut jar = CookieJar::new();
/// jar.store("session=abc; HttpOnly; Path=/");
/// jar.store("theme=dark");
/// assert_eq!(jar.header().unwrap(), "session=abc; theme=dark");
/// jar.store("session=; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT");
/// assert_eq!(jar.get("session"), None);
/// assert_eq!(jar.header().unwrap(), "theme=dark");
/// ```
#[derive(Clone, Debug, Default)]
pub struct CookieJar {
    /// `name`, `value` pairs in the order they were first stored.
    cookies: Vec<(String, String)>,
    /// The `Cookie` header to send, kept up to date by every change.
    header: Option<HeaderValue>,
}

impl CookieJar {
    /// An empty jar.
    ///
    /// ```
    /// use axum_session_store::test_util::CookieJar;
    ///
    /// let mut jar = CookieJar::new();
    /// assert!(jar.is_empty());
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Stores one `Set-Cookie` value (`name=value; attributes`); a removal deletes the cookie.
    /// A value that is not `name=value` is ignored, as browsers ignore it.
    ///
    /// ```
    /// use axum_session_store::test_util::CookieJar;
    ///
    /// let mut jar = CookieJar::new();
    /// jar.store("session=abc; Path=/; HttpOnly");
    /// assert_eq!(jar.get("session"), Some("abc"));
    /// ```
    pub fn store(&mut self, set_cookie: &str) {
        let mut parts = set_cookie.split(';');
        let Some((name, value)) = parts.next().and_then(|pair| pair.split_once('=')) else {
            return;
        };
        let (name, value) = (name.trim(), value.trim());
        let removed = parts.any(|attribute| {
            let attribute = attribute.trim();
            let starts = |prefix: &str| {
                attribute
                    .get(..prefix.len())
                    .is_some_and(|start| start.eq_ignore_ascii_case(prefix))
            };
            attribute.eq_ignore_ascii_case("max-age=0")
                || starts("max-age=-")
                || (starts("expires=") && attribute.contains("1970"))
        });
        match self.cookies.iter().position(|(n, _)| n == name) {
            Some(index) if removed => {
                self.cookies.remove(index);
            }
            Some(index) => {
                let stored = &mut self.cookies[index].1;
                stored.clear();
                stored.push_str(value);
            }
            None if removed => return,
            None => self.cookies.push((name.to_owned(), value.to_owned())),
        }
        self.header = self.render();
    }

    /// Stores every `Set-Cookie` header of a response.
    ///
    /// ```
    /// use axum_session_store::test_util::CookieJar;
    ///
    /// let mut jar = CookieJar::new();
    /// let mut headers = axum::http::HeaderMap::new();
    /// headers.append("set-cookie", "a=1".parse().unwrap());
    /// headers.append("set-cookie", "b=2".parse().unwrap());
    /// jar.store_response(&headers);
    /// assert_eq!(jar.len(), 2);
    /// ```
    pub fn store_response(&mut self, headers: &HeaderMap) {
        for value in headers.get_all(SET_COOKIE) {
            if let Ok(value) = value.to_str() {
                self.store(value);
            }
        }
    }

    /// Sets the cookie `name` to `value` directly, as if a response had set it.
    ///
    /// ```
    /// use axum_session_store::test_util::CookieJar;
    ///
    /// let mut jar = CookieJar::new();
    /// jar.insert("session", "forged");
    /// assert_eq!(jar.header().unwrap(), "session=forged");
    /// ```
    pub fn insert(&mut self, name: &str, value: &str) {
        self.store(&format!("{name}={value}"));
    }

    /// Deletes the cookie `name`, as if a response had removed it.
    ///
    /// ```
    /// use axum_session_store::test_util::CookieJar;
    ///
    /// let mut jar = CookieJar::new();
    /// jar.insert("session", "abc");
    /// jar.remove("session");
    /// assert!(jar.is_empty());
    /// ```
    pub fn remove(&mut self, name: &str) {
        self.store(&format!("{name}=; Max-Age=0"));
    }

    /// The `Cookie` header to send, `None` when the jar is empty.
    ///
    /// ```
    /// use axum_session_store::test_util::CookieJar;
    ///
    /// let mut jar = CookieJar::new();
    /// assert_eq!(jar.header(), None);
    /// jar.store("a=1");
    /// assert_eq!(jar.header().unwrap(), "a=1");
    /// ```
    pub fn header(&self) -> Option<&HeaderValue> {
        self.header.as_ref()
    }

    /// The value of the cookie `name`.
    ///
    /// ```
    /// use axum_session_store::test_util::CookieJar;
    ///
    /// let mut jar = CookieJar::new();
    /// jar.store("a=1");
    /// assert_eq!(jar.get("a"), Some("1"));
    /// assert_eq!(jar.get("b"), None);
    /// ```
    pub fn get(&self, name: &str) -> Option<&str> {
        self.cookies
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The cookies, as `(name, value)`, in the order they were first set.
    ///
    /// ```
    /// use axum_session_store::test_util::CookieJar;
    ///
    /// let mut jar = CookieJar::new();
    /// jar.store("a=1");
    /// jar.store("b=2");
    /// assert_eq!(jar.iter().collect::<Vec<_>>(), [("a", "1"), ("b", "2")]);
    /// ```
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.cookies.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }

    /// How many cookies it holds.
    ///
    /// ```
    /// use axum_session_store::test_util::CookieJar;
    ///
    /// let mut jar = CookieJar::new();
    /// jar.store("a=1");
    /// assert_eq!(jar.len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        self.cookies.len()
    }

    /// Whether it holds no cookie.
    ///
    /// ```
    /// use axum_session_store::test_util::CookieJar;
    ///
    /// let mut jar = CookieJar::new();
    /// assert!(jar.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.cookies.is_empty()
    }

    /// The `Cookie` header for the stored cookies, built with one allocation.
    fn render(&self) -> Option<HeaderValue> {
        if self.cookies.is_empty() {
            return None;
        }
        let len: usize = self
            .cookies
            .iter()
            .map(|(n, v)| n.len() + 1 + v.len())
            .sum::<usize>()
            + 2 * (self.cookies.len() - 1);
        let mut header = String::with_capacity(len);
        for (n, v) in &self.cookies {
            if !header.is_empty() {
                header.push_str("; ");
            }
            header.push_str(n);
            header.push('=');
            header.push_str(v);
        }
        HeaderValue::try_from(header).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn removals_in_every_spelling() {
        for removal in [
            "a=; Max-Age=0",
            "a=; max-age=-1",
            "a=x; Expires=Thu, 01 Jan 1970 00:00:00 GMT",
        ] {
            let mut jar = CookieJar::new();
            jar.insert("a", "1");
            jar.store(removal);
            assert!(jar.is_empty() && jar.header().is_none(), "{removal}");
        }
    }

    #[test]
    fn replacing_keeps_the_order_and_junk_is_ignored() {
        let mut jar = CookieJar::new();
        jar.store("a=1");
        jar.store("b=2");
        jar.store("a=3; Path=/");
        jar.store("no pair here");
        assert_eq!(jar.iter().collect::<Vec<_>>(), [("a", "3"), ("b", "2")]);
        assert_eq!(
            jar.header().map(|h| h.to_str().ok()),
            Some(Some("a=3; b=2"))
        );
        jar.remove("a");
        assert_eq!(jar.len(), 1);
    }
}
