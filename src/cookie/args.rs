//! Cookie attributes (webapp2's `cookie_args`), their validation, and the `Set-Cookie` values
//! built from them.

use axum_extra::extract::cookie::SameSite;
use time::Duration;

use crate::config_error::ConfigError;

/// The longest cookie name accepted.
const MAX_NAME_LEN: usize = 256;

/// The attributes of a session cookie, webapp2's `cookie_args`.
///
/// The defaults are safer than webapp2's: `secure` and `http_only` are on, and `same_site` is
/// `Lax`. Change the ones you need and keep the rest; the fields can be read:
///
/// ```
/// use axum_session_store::cookie::{CookieArgs, SameSite};
/// use time::Duration;
///
/// let args = CookieArgs::default()
///     .max_age(Duration::days(30))
///     .same_site(SameSite::Strict);
/// assert!(args.secure && args.http_only);
/// assert_eq!(args.path, "/");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct CookieArgs {
    /// `Max-Age`: how long the browser keeps the cookie. `None` (default): until the browser
    /// closes.
    pub max_age: Option<Duration>,
    /// `Domain`. `None` (default): only the host that set it.
    pub domain: Option<String>,
    /// `Path`. Default `/`.
    pub path: String,
    /// `Secure`: sent over HTTPS only (browsers also allow `http://localhost`). Default `true`.
    pub secure: bool,
    /// `HttpOnly`: hidden from JavaScript. Default `true`.
    pub http_only: bool,
    /// `SameSite`. Default `Lax`: sent on top-level navigation, not on cross-site sub-requests.
    pub same_site: SameSite,
}

impl Default for CookieArgs {
    fn default() -> Self {
        Self {
            max_age: None,
            domain: None,
            path: "/".to_owned(),
            secure: true,
            http_only: true,
            same_site: SameSite::Lax,
        }
    }
}

impl CookieArgs {
    /// These attributes with `Max-Age` set: the browser keeps the cookie that long.
    #[must_use]
    pub fn max_age(mut self, max_age: Duration) -> Self {
        self.max_age = Some(max_age);
        self
    }

    /// These attributes with `Domain` set: the cookie is sent to `domain` and its subdomains.
    #[must_use]
    pub fn domain(mut self, domain: impl Into<String>) -> Self {
        self.domain = Some(domain.into());
        self
    }

    /// These attributes with `Path` set.
    #[must_use]
    pub fn path(mut self, path: impl Into<String>) -> Self {
        self.path = path.into();
        self
    }

    /// These attributes with `Secure` on or off (off only for plain-HTTP development).
    #[must_use]
    pub fn secure(mut self, secure: bool) -> Self {
        self.secure = secure;
        self
    }

    /// These attributes with `HttpOnly` on or off (off lets JavaScript read the cookie).
    #[must_use]
    pub fn http_only(mut self, http_only: bool) -> Self {
        self.http_only = http_only;
        self
    }

    /// These attributes with `SameSite` set.
    #[must_use]
    pub fn same_site(mut self, same_site: SameSite) -> Self {
        self.same_site = same_site;
        self
    }

    /// Checks these attributes for the cookie `name`: the name itself, the `__Host-` and
    /// `__Secure-` prefix rules (prefixes matched case-insensitively, as browsers do), and
    /// `SameSite=None` without `Secure`.
    pub(crate) fn validate(&self, name: &str) -> Result<(), ConfigError> {
        validate_cookie_name(name)?;
        let named = || name.to_owned();
        if let Some(max_age) = self.max_age {
            if !max_age.is_positive() {
                return Err(ConfigError::NonPositiveDuration {
                    setting: "cookie_args.max_age",
                    value: max_age,
                });
            }
        }
        if !self.path.starts_with('/') || has_forbidden_attribute_char(&self.path) {
            return Err(ConfigError::InvalidPath {
                name: named(),
                path: self.path.clone(),
            });
        }
        if let Some(domain) = &self.domain {
            if domain.is_empty() || domain.contains(' ') || has_forbidden_attribute_char(domain) {
                return Err(ConfigError::InvalidDomain {
                    name: named(),
                    domain: domain.clone(),
                });
            }
        }
        if has_prefix(name, "__Host-") {
            if !self.secure {
                return Err(ConfigError::HostPrefixNeedsSecure { name: named() });
            }
            if self.path != "/" {
                return Err(ConfigError::HostPrefixNeedsRootPath { name: named() });
            }
            if self.domain.is_some() {
                return Err(ConfigError::HostPrefixForbidsDomain { name: named() });
            }
        }
        if has_prefix(name, "__Secure-") && !self.secure {
            return Err(ConfigError::SecurePrefixNeedsSecure { name: named() });
        }
        if self.same_site == SameSite::None && !self.secure {
            return Err(ConfigError::SameSiteNoneNeedsSecure { name: named() });
        }
        Ok(())
    }

    /// The attributes as they follow `name=value` in a `Set-Cookie` header, in the order the
    /// `cookie` crate writes them, without `Max-Age` when `removal` is false (a save appends
    /// the one it wants); `removal` adds `Max-Age=0` and an expiry in the past.
    fn render(&self, removal: bool) -> String {
        let mut out = String::new();
        if self.http_only {
            out.push_str("; HttpOnly");
        }
        out.push_str(match self.same_site {
            SameSite::Strict => "; SameSite=Strict",
            SameSite::Lax => "; SameSite=Lax",
            SameSite::None => "; SameSite=None",
        });
        if self.secure {
            out.push_str("; Secure");
        }
        out.push_str("; Path=");
        out.push_str(&self.path);
        if let Some(domain) = &self.domain {
            out.push_str("; Domain=");
            // Browsers ignore a leading dot; the `cookie` crate drops it too.
            out.push_str(domain.strip_prefix('.').unwrap_or(domain));
        }
        if removal {
            out.push_str("; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT");
        }
        out
    }
}

/// The `Max-Age` a saved cookie gets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum MaxAge {
    /// The cookie arguments' own (`cookie_args.max_age`), if any.
    Configured,
    /// None: a browser-session cookie, gone when the browser closes.
    BrowserSession,
    /// This many seconds (at least 0).
    Seconds(i64),
}

/// The literal before a `Max-Age` value.
const MAX_AGE: &str = "; Max-Age=";

/// A session cookie's attributes with their `Set-Cookie` text, rendered once by `build()` so
/// that a save only appends them.
#[derive(Clone, Debug)]
pub(crate) struct CookieAttributes {
    args: CookieArgs,
    /// What follows `name=value` when the cookie is set, but the `Max-Age`.
    set: String,
    /// The configured `Max-Age`, in seconds.
    max_age: Option<i64>,
    /// What follows `name=` when the cookie is removed.
    removal: String,
}

impl CookieAttributes {
    pub(crate) fn new(args: CookieArgs) -> Self {
        Self {
            set: args.render(false),
            max_age: args.max_age.map(|max_age| max_age.whole_seconds()),
            removal: args.render(true),
            args,
        }
    }

    pub(crate) fn args(&self) -> &CookieArgs {
        &self.args
    }

    /// The seconds of `Max-Age` a cookie saved with `max_age` carries, if any.
    fn max_age_seconds(&self, max_age: MaxAge) -> Option<i64> {
        match max_age {
            MaxAge::Configured => self.max_age,
            MaxAge::BrowserSession => None,
            MaxAge::Seconds(seconds) => Some(seconds.max(0)),
        }
    }

    /// The length of the `Set-Cookie` value that stores a value of `value_len` bytes under
    /// `name`, with `max_age`.
    pub(crate) fn set_cookie_len(&self, name: &str, value_len: usize, max_age: MaxAge) -> usize {
        let max_age = self.max_age_seconds(max_age).map_or(0, |seconds| {
            MAX_AGE.len() + itoa::Buffer::new().format(seconds).len()
        });
        name.len() + 1 + value_len + self.set.len() + max_age
    }

    /// Starts the `Set-Cookie` value that stores a value under `name`: `name=`, in a buffer
    /// with room for `value_len` bytes of value and the attributes. Write the value into it,
    /// then [`finish_set_cookie`](Self::finish_set_cookie) with the same `max_age`.
    pub(crate) fn start_set_cookie(&self, name: &str, value_len: usize, max_age: MaxAge) -> String {
        let mut header = String::with_capacity(self.set_cookie_len(name, value_len, max_age));
        header.push_str(name);
        header.push('=');
        header
    }

    /// Appends the attributes to a value started by
    /// [`start_set_cookie`](Self::start_set_cookie).
    pub(crate) fn finish_set_cookie(&self, header: &mut String, max_age: MaxAge) {
        header.push_str(&self.set);
        if let Some(seconds) = self.max_age_seconds(max_age) {
            header.push_str(MAX_AGE);
            header.push_str(itoa::Buffer::new().format(seconds));
        }
    }

    /// The `Set-Cookie` value that makes the browser delete `name`: same path, domain and
    /// security attributes, an empty value, `Max-Age=0` and an expiry in the past.
    pub(crate) fn removal_cookie(&self, name: &str) -> String {
        let mut header = String::with_capacity(name.len() + 1 + self.removal.len());
        header.push_str(name);
        header.push('=');
        header.push_str(&self.removal);
        header
    }
}

/// A cookie name must be an RFC 7230 token: visible ASCII without separators.
pub(crate) fn validate_cookie_name(name: &str) -> Result<(), ConfigError> {
    let is_token_char = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b);
    if name.is_empty() || name.len() > MAX_NAME_LEN || !name.bytes().all(is_token_char) {
        return Err(ConfigError::InvalidCookieName {
            name: name.to_owned(),
        });
    }
    Ok(())
}

fn has_prefix(name: &str, prefix: &str) -> bool {
    name.get(..prefix.len())
        .is_some_and(|start| start.eq_ignore_ascii_case(prefix))
}

/// Attribute values must be printable ASCII without `;` (RFC 6265 `av-octet`), so they fit in
/// a header value unchanged.
fn has_forbidden_attribute_char(value: &str) -> bool {
    value.chars().any(|c| c == ';' || !(' '..='~').contains(&c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_cookie_carries_every_attribute() {
        let args = CookieArgs {
            max_age: Some(Duration::seconds(60)),
            domain: Some("example.com".into()),
            ..CookieArgs::default()
        };
        let attributes = CookieAttributes::new(args);
        let mut header = attributes.start_set_cookie("session", 1, MaxAge::Configured);
        header.push('v');
        attributes.finish_set_cookie(&mut header, MaxAge::Configured);
        assert_eq!(
            header.len(),
            attributes.set_cookie_len("session", 1, MaxAge::Configured)
        );
        for part in [
            "session=v",
            "HttpOnly",
            "SameSite=Lax",
            "Secure",
            "Path=/",
            "Domain=example.com",
            "Max-Age=60",
        ] {
            assert!(header.contains(part), "{header} lacks {part}");
        }
    }

    #[test]
    fn a_save_may_choose_its_own_max_age() {
        let args = CookieArgs {
            max_age: Some(Duration::seconds(60)),
            ..CookieArgs::default()
        };
        let attributes = CookieAttributes::new(args);
        for (max_age, expected) in [
            (MaxAge::Configured, Some("; Max-Age=60")),
            (MaxAge::BrowserSession, None),
            (MaxAge::Seconds(2_592_000), Some("; Max-Age=2592000")),
            (MaxAge::Seconds(-5), Some("; Max-Age=0")),
        ] {
            let mut header = attributes.start_set_cookie("s", 0, max_age);
            attributes.finish_set_cookie(&mut header, max_age);
            assert_eq!(header.len(), attributes.set_cookie_len("s", 0, max_age));
            assert_eq!(
                header.matches("Max-Age").count(),
                usize::from(expected.is_some())
            );
            if let Some(expected) = expected {
                assert!(header.ends_with(expected), "{header}");
            }
        }
    }

    #[test]
    fn removal_cookie_expires_with_same_scope() {
        let args = CookieArgs {
            domain: Some("example.com".into()),
            path: "/app".into(),
            ..CookieArgs::default()
        };
        let header = CookieAttributes::new(args).removal_cookie("session");
        for part in [
            "session=;",
            "Path=/app",
            "Domain=example.com",
            "Max-Age=0",
            "Expires=Thu, 01 Jan 1970 00:00:00 GMT",
            "Secure",
        ] {
            assert!(header.contains(part), "{header} lacks {part}");
        }
    }

    #[test]
    fn prefixes_match_case_insensitively() {
        let insecure = CookieArgs {
            secure: false,
            ..CookieArgs::default()
        };
        assert!(matches!(
            insecure.validate("__host-s"),
            Err(ConfigError::HostPrefixNeedsSecure { .. })
        ));
        assert!(matches!(
            insecure.validate("__SECURE-s"),
            Err(ConfigError::SecurePrefixNeedsSecure { .. })
        ));
        assert!(insecure.validate("_Host-s").is_ok());
    }
}
