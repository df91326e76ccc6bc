//! Session cookies that webapp2, Flask and Django wrote, read so that moving an app to this
//! crate logs nobody out: [`LegacyCookie`] says which format, with which secret, under which
//! name and for how long.

mod django;
mod encoding;
mod flask;
mod refusal;
mod tagged_json;
mod timed_signature;
mod webapp2;

use std::fmt;

use hmac::{Hmac, Mac};
use serde_json::{Map, Value};
use sha1::Sha1;
use sha2::Sha256;
use time::{Duration, OffsetDateTime};

use crate::config_error::ConfigError;
use crate::cookie::args::{validate_cookie_name, CookieArgs, CookieAttributes};
use crate::cookie::codec::{VerifyError, MAX_COOKIE_VALUE_LEN};
use crate::flash_message::FLASH_KEY;
use crate::reserved::RESERVED_KEYS;

pub(crate) use refusal::Refusal;

/// A session cookie written by the app this one replaces, to read when a request carries no
/// valid cookie of this crate's own: if it verifies, its values become the session's, and the
/// response carries the session in this crate's format (and removes the old cookie when its
/// name differs), so each user is upgraded on their first visit and stays signed in.
///
/// Acceptance is as strict as the original framework's: only the old app's secret (and the
/// fallbacks given), only the old cookie name, only within the old age limit, and never after
/// [`until`](Self::until). Anything else (a forged, changed, expired or oversized cookie) is
/// simply no session: a new one starts, as for any other cookie this crate refuses.
///
/// An old cookie is signed, not stored, so it cannot be revoked: a copy of one made before a
/// logout still signs in until the old age limit or `until`. Keep `until` a few weeks ahead.
/// The upgrade is written by the response's save (return the `Session`, or use the layer).
///
/// | constructor | reads | default cookie name | default max age |
/// | --- | --- | --- | --- |
/// | [`webapp2`](Self::webapp2) | `webapp2_extras.sessions`' secure cookie (webapp2 2.5) | `session` | none: set [`max_age`](Self::max_age) or [`until`](Self::until) |
/// | [`flask`](Self::flask) | Flask's default session cookie (itsdangerous) | `session` | 31 days (`PERMANENT_SESSION_LIFETIME`) |
/// | [`django`](Self::django) | Django's `signed_cookies` session backend | `sessionid` | 14 days (`SESSION_COOKIE_AGE`) |
///
/// What the values become: webapp2's are kept as they are (its flash messages are already in
/// this crate's format). Flask's tagged values become plain JSON (a tuple an array, a UUID its
/// text, bytes and dates the text Flask stored), its `_flashes` become flash messages whose level
/// is the Flask category, and `_permanent` is dropped (this crate's lifetimes apply). Django's
/// `_session_expiry` is dropped. A key this crate reserves (`_user`, `_csrf`, `_created`,
/// `_expiry`, `_meta`) is kept under `legacy` plus its name: webapp2's auth data, say, under
/// `legacy_user`.
///
/// ```
/// use axum_session_store::cookie::LegacyCookie;
/// use axum_session_store::{DefaultSession, SessionConfig};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # std::env::set_var("SESSION_SECRET", "an example secret, at least 32 bytes long");
/// # std::env::set_var("FLASK_SECRET_KEY", "the old app's secret");
/// let config = SessionConfig::builder()
///     .secret_key(std::env::var("SESSION_SECRET")?)
///     // Flask's cookie is also called `session`: the upgraded one simply replaces it.
///     .legacy_cookie::<DefaultSession>(
///         LegacyCookie::flask(std::env::var("FLASK_SECRET_KEY")?)
///             // Read for the next 60 days only: after that, who has not come back signs in.
///             .until(time::OffsetDateTime::now_utc() + time::Duration::days(60)),
///     )
///     .build()?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct LegacyCookie {
    format: Format,
    secrets: Vec<Vec<u8>>,
    cookie_name: Option<String>,
    max_age: Option<Duration>,
    until: Option<OffsetDateTime>,
    path: Option<String>,
    domain: Option<String>,
}

/// Which framework wrote the cookie.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Format {
    Webapp2,
    Flask,
    Django,
}

impl Format {
    fn label(self) -> &'static str {
        match self {
            Format::Webapp2 => "webapp2",
            Format::Flask => "flask",
            Format::Django => "django",
        }
    }

    fn default_cookie_name(self) -> &'static str {
        match self {
            Format::Webapp2 | Format::Flask => "session",
            Format::Django => "sessionid",
        }
    }

    fn default_max_age(self) -> Option<Duration> {
        match self {
            // webapp2's `session_max_age` defaults to None: its cookies never expired.
            Format::Webapp2 => None,
            Format::Flask => Some(Duration::days(31)),
            Format::Django => Some(Duration::seconds(1_209_600)),
        }
    }
}

impl LegacyCookie {
    /// webapp2's secure cookie (`webapp2_extras.securecookie`), signed with webapp2's
    /// `secret_key`. webapp2 set no age limit by default, so give the old `session_max_age`
    /// with [`max_age`](Self::max_age), or a date with [`until`](Self::until): `build()` refuses a
    /// webapp2 cookie readable forever.
    pub fn webapp2(secret_key: impl AsRef<[u8]>) -> Self {
        Self::new(Format::Webapp2, secret_key.as_ref())
    }

    /// Flask's session cookie, signed with Flask's `SECRET_KEY`.
    pub fn flask(secret_key: impl AsRef<[u8]>) -> Self {
        Self::new(Format::Flask, secret_key.as_ref())
    }

    /// Django's `signed_cookies` session, signed with Django's `SECRET_KEY`. (Django's
    /// database, cache and file sessions keep their data on the server: their cookie is only a
    /// key, and moving them means moving the data.)
    pub fn django(secret_key: impl AsRef<[u8]>) -> Self {
        Self::new(Format::Django, secret_key.as_ref())
    }

    fn new(format: Format, secret: &[u8]) -> Self {
        Self {
            format,
            secrets: vec![secret.to_vec()],
            cookie_name: None,
            max_age: format.default_max_age(),
            until: None,
            path: None,
            domain: None,
        }
    }

    /// The old cookie's name, when the old app changed it (webapp2's `cookie_name`, Flask's
    /// `SESSION_COOKIE_NAME`, Django's `SESSION_COOKIE_NAME`).
    pub fn cookie_name(mut self, name: impl Into<String>) -> Self {
        self.cookie_name = Some(name.into());
        self
    }

    /// The old app's age limit, if it changed the default (webapp2's `session_max_age`, Flask's
    /// `PERMANENT_SESSION_LIFETIME`, Django's `SESSION_COOKIE_AGE`): an older cookie is refused.
    pub fn max_age(mut self, max_age: Duration) -> Self {
        self.max_age = Some(max_age);
        self
    }

    /// The `Path` the old app set its cookie with, when it was not the session's own (Django's
    /// `SESSION_COOKIE_PATH`, Flask's `SESSION_COOKIE_PATH` or `APPLICATION_ROOT`): the old
    /// cookie is removed with it. A browser deletes a cookie only for the path and domain it
    /// was set with, and an old cookie left behind would be read again after a logout.
    pub fn cookie_path(mut self, path: impl Into<String>) -> Self {
        self.path = Some(path.into());
        self
    }

    /// The `Domain` the old app set its cookie with, when it was not the session's own
    /// (`SESSION_COOKIE_DOMAIN`): the old cookie is removed with it, as for
    /// [`cookie_path`](Self::cookie_path).
    pub fn cookie_domain(mut self, domain: impl Into<String>) -> Self {
        self.domain = Some(domain.into());
        self
    }

    /// The instant after which old cookies are no longer read at all: users who have not come
    /// back by then start a new session.
    pub fn until(mut self, deadline: OffsetDateTime) -> Self {
        self.until = Some(deadline);
        self
    }

    /// Older secrets the old app still accepted (Flask's and Django's `SECRET_KEY_FALLBACKS`).
    pub fn fallback_secrets<K: AsRef<[u8]>>(
        mut self,
        secrets: impl IntoIterator<Item = K>,
    ) -> Self {
        self.secrets.truncate(1);
        self.secrets
            .extend(secrets.into_iter().map(|secret| secret.as_ref().to_vec()));
        self
    }

    /// The reader of these cookies, with its keys derived; refuses an empty secret, a name no
    /// cookie can have, a max age of zero or less, and a webapp2 cookie with no limit at all.
    pub(crate) fn reader(&self) -> Result<LegacyReader, ConfigError> {
        let invalid = |problem: String| ConfigError::InvalidSetting {
            setting: "legacy_cookie",
            problem,
        };
        let label = self.format.label();
        if self.secrets.iter().any(Vec::is_empty) {
            return Err(invalid(format!("the {label} secret is empty")));
        }
        let cookie_name = self
            .cookie_name
            .clone()
            .unwrap_or_else(|| self.format.default_cookie_name().to_owned());
        validate_cookie_name(&cookie_name)?;
        let scope = (self.path.is_some() || self.domain.is_some()).then(|| CookieScope {
            path: self.path.clone(),
            domain: self.domain.clone(),
        });
        if let Some(scope) = &scope {
            scope.with(&CookieArgs::default()).validate(&cookie_name)?;
        }
        if let Some(max_age) = self.max_age.filter(|age| !age.is_positive()) {
            return Err(ConfigError::NonPositiveDuration {
                setting: "legacy_cookie max_age",
                value: max_age,
            });
        }
        if self.max_age.is_none() && self.until.is_none() {
            return Err(invalid(format!(
                "{label} cookies never expired: give the old max_age or an until date, so that \
                 a copied cookie does not sign someone in forever"
            )));
        }
        // HMAC takes a key of any length: a secret that makes no key never happens.
        let no_key = || invalid(format!("a {label} secret cannot be an HMAC key"));
        let secrets = &self.secrets;
        let keys = match self.format {
            Format::Webapp2 => Keys::Webapp2(
                keyed(secrets, |secret| Hmac::new_from_slice(secret).ok()).ok_or_else(no_key)?,
            ),
            Format::Flask => Keys::Flask(keyed(secrets, flask::key).ok_or_else(no_key)?),
            Format::Django => Keys::Django(keyed(secrets, django::key).ok_or_else(no_key)?),
        };
        Ok(LegacyReader {
            format: self.format,
            keys,
            cookie_name,
            max_age: self.max_age,
            until: self.until,
            scope,
        })
    }
}

/// Where the old cookie was set, when not where the session's own is.
#[derive(Debug)]
struct CookieScope {
    path: Option<String>,
    domain: Option<String>,
}

impl CookieScope {
    /// `args` with this path and domain.
    fn with(&self, args: &CookieArgs) -> CookieArgs {
        CookieArgs {
            path: self.path.clone().unwrap_or_else(|| args.path.clone()),
            domain: self.domain.clone().or_else(|| args.domain.clone()),
            ..args.clone()
        }
    }
}

impl fmt::Debug for LegacyCookie {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LegacyCookie")
            .field("format", &self.format.label())
            .field("secrets", &self.secrets.len())
            .field("cookie_name", &self.cookie_name)
            .field("max_age", &self.max_age)
            .field("until", &self.until)
            .field("path", &self.path)
            .field("domain", &self.domain)
            .finish()
    }
}

/// A [`LegacyCookie`] ready to read: its keys derived once, at `build()`.
pub(crate) struct LegacyReader {
    format: Format,
    keys: Keys,
    cookie_name: String,
    max_age: Option<Duration>,
    until: Option<OffsetDateTime>,
    scope: Option<CookieScope>,
}

impl fmt::Debug for LegacyReader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LegacyReader")
            .field("format", &self.format.label())
            .field("cookie_name", &self.cookie_name)
            .field("max_age", &self.max_age)
            .field("until", &self.until)
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

enum Keys {
    Webapp2(Vec<Hmac<Sha1>>),
    Flask(Vec<Hmac<Sha1>>),
    Django(Vec<Hmac<Sha256>>),
}

impl LegacyReader {
    /// The name of the old cookie.
    pub(crate) fn cookie_name(&self) -> &str {
        &self.cookie_name
    }

    /// The `Set-Cookie` header text that removes the old cookie, given the session's cookie
    /// `attributes`: with the old cookie's own path and domain when they were given.
    pub(crate) fn removal_cookie(&self, attributes: &CookieAttributes) -> String {
        match &self.scope {
            None => attributes.removal_cookie(&self.cookie_name),
            Some(scope) => CookieAttributes::new(scope.with(attributes.args()))
                .removal_cookie(&self.cookie_name),
        }
    }

    /// Whether a cookie called `name` set with `args` takes the old cookie's place in the
    /// browser: same name, path and domain. Otherwise the old one stays until removed.
    pub(crate) fn is_overwritten_by(&self, name: &str, args: &CookieArgs) -> bool {
        name == self.cookie_name
            && self.scope.as_ref().is_none_or(|scope| {
                let old = scope.with(args);
                old.path == args.path && old.domain == args.domain
            })
    }

    /// Which framework wrote it, for logs and metrics.
    pub(crate) fn format(&self) -> &'static str {
        self.format.label()
    }

    /// The session values the old cookie `value` holds as of `now`, in this crate's terms.
    pub(crate) fn read(
        &self,
        value: &str,
        now: OffsetDateTime,
    ) -> Result<Map<String, Value>, Refusal> {
        if self.until.is_some_and(|deadline| now >= deadline) {
            return Err(Refusal::PastDeadline);
        }
        if value.len() > MAX_COOKIE_VALUE_LEN {
            return Err(VerifyError::TooLong { len: value.len() }.into());
        }
        let read = match &self.keys {
            Keys::Webapp2(keys) => webapp2::read(keys, &self.cookie_name, value, self.max_age, now),
            Keys::Flask(keys) => flask::read(keys, value, self.max_age, now),
            Keys::Django(keys) => django::read(keys, value, self.max_age, now),
        }?;
        let Value::Object(mut values) = read else {
            return Err(VerifyError::NotAnObject.into());
        };
        match self.format {
            Format::Webapp2 => {}
            Format::Flask => {
                values.remove("_permanent");
                if let Some(flashes) = values.remove("_flashes") {
                    values.insert(FLASH_KEY.to_owned(), flask_flashes(flashes));
                }
            }
            Format::Django => {
                values.remove("_session_expiry");
            }
        }
        for key in RESERVED_KEYS {
            if let Some(value) = values.remove(key) {
                values.insert(format!("legacy{key}"), value);
            }
        }
        Ok(values)
    }
}

/// The key `make` gives each of `secrets`, or `None` if one gives none.
fn keyed<M>(secrets: &[Vec<u8>], make: impl Fn(&[u8]) -> Option<M>) -> Option<Vec<M>> {
    secrets.iter().map(|secret| make(secret)).collect()
}

/// Flask's `(category, message)` pairs as this crate's `[message, level]` ones.
fn flask_flashes(flashes: Value) -> Value {
    let Value::Array(flashes) = flashes else {
        return Value::Array(vec![Value::Array(vec![flashes, Value::Null])]);
    };
    let entry = |flash| match flash {
        Value::Array(mut pair) if pair.len() == 2 => {
            pair.swap(0, 1);
            Value::Array(pair)
        }
        other => Value::Array(vec![other, Value::Null]),
    };
    Value::Array(flashes.into_iter().map(entry).collect())
}

#[cfg(test)]
mod tests;
