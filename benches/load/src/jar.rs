//! A browser's cookie jar, shared by the load client and the in-process `handler-cost` driver.

use hyper::header::HeaderValue;

/// A browser's cookie jar, reduced to what a session needs: names and values, replaced by
/// `Set-Cookie`, dropped by a `Max-Age=0` or past `Expires` removal, sent back in `Cookie`.
#[derive(Default)]
pub(crate) struct Jar {
    /// `name`, `value` pairs in the order they were first stored.
    pub(crate) cookies: Vec<(String, String)>,
    /// The `Cookie` header to send, kept up to date by `store`.
    pub(crate) header: Option<HeaderValue>,
}

impl Jar {
    /// Stores one `Set-Cookie` value. Cheap on purpose: the jar runs on the same cores as the
    /// servers under test, so it reuses its buffers and allocates only the new `Cookie` header.
    pub(crate) fn store(&mut self, set_cookie: &str) {
        let mut parts = set_cookie.split(';');
        let Some((name, value)) = parts.next().and_then(|pair| pair.split_once('=')) else {
            return;
        };
        let (name, value) = (name.trim(), value.trim());
        let removed = parts.any(|attr| {
            let attr = attr.trim();
            let starts = |prefix: &str| {
                attr.get(..prefix.len())
                    .is_some_and(|start| start.eq_ignore_ascii_case(prefix))
            };
            attr.eq_ignore_ascii_case("max-age=0")
                || starts("max-age=-")
                || (starts("expires=") && attr.contains("1970"))
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
            None if removed => {}
            None => self.cookies.push((name.to_owned(), value.to_owned())),
        }
        self.header = self.render();
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
