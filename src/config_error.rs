//! [`ConfigError`]: a mistake in the configuration, found before any request is served.

use time::Duration;

/// A mistake in the session configuration, found by [`SessionConfigBuilder::build`].
///
/// Each message names the setting and says how to fix it.
///
/// [`SessionConfigBuilder::build`]: crate::SessionConfigBuilder::build
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// No `secret_key` was given.
    #[error(
        "secret_key is missing: set it with SessionConfig::builder().secret_key(...) to at least \
         32 random bytes kept out of the source code (generate one with `openssl rand -base64 48`)"
    )]
    MissingSecretKey,
    /// The `secret_key` is shorter than 32 bytes.
    #[error(
        "secret_key is {len} bytes, fewer than the 32 required: use at least 32 random bytes \
         (generate one with `openssl rand -base64 48`)"
    )]
    SecretKeyTooShort {
        /// The length that was given.
        len: usize,
    },
    /// The `secret_key` is long enough but made of too few distinct bytes to be random.
    #[error(
        "secret_key has only {distinct} distinct bytes: a secret repeated from a few characters \
         can be guessed whatever its length; use at least 32 random bytes (generate one with \
         `openssl rand -base64 48`)"
    )]
    SecretKeyTooSimple {
        /// How many distinct bytes it holds.
        distinct: usize,
    },
    /// One of the `fallback_keys` is shorter than 32 bytes.
    #[error(
        "fallback_keys[{index}] is {len} bytes, fewer than the 32 required: a fallback key is a \
         former secret_key and must be as long as one"
    )]
    FallbackKeyTooShort {
        /// Position of the key in `fallback_keys`.
        index: usize,
        /// The length that was given.
        len: usize,
    },
    /// One of the `fallback_keys` is made of too few distinct bytes to be random.
    #[error(
        "fallback_keys[{index}] has only {distinct} distinct bytes: a fallback key is a former \
         secret_key and must be as random as one (generate secrets with `openssl rand -base64 48`)"
    )]
    FallbackKeyTooSimple {
        /// Position of the key in `fallback_keys`.
        index: usize,
        /// How many distinct bytes it holds.
        distinct: usize,
    },
    /// A session or cookie name that is not a valid cookie name.
    #[error(
        "cookie name {name:?} is not valid: use 1 to 256 letters, digits or the characters \
         !#$%&'*+-.^_`|~"
    )]
    InvalidCookieName {
        /// The name that was given.
        name: String,
    },
    /// A `__Host-` cookie without `secure`.
    #[error("cookie {name:?}: the __Host- prefix requires cookie_args.secure = true")]
    HostPrefixNeedsSecure {
        /// The cookie name.
        name: String,
    },
    /// A `__Host-` cookie whose path is not `/`.
    #[error("cookie {name:?}: the __Host- prefix requires cookie_args.path = \"/\"")]
    HostPrefixNeedsRootPath {
        /// The cookie name.
        name: String,
    },
    /// A `__Host-` cookie with a domain.
    #[error("cookie {name:?}: the __Host- prefix forbids a domain: set cookie_args.domain = None")]
    HostPrefixForbidsDomain {
        /// The cookie name.
        name: String,
    },
    /// A `__Secure-` cookie without `secure`.
    #[error("cookie {name:?}: the __Secure- prefix requires cookie_args.secure = true")]
    SecurePrefixNeedsSecure {
        /// The cookie name.
        name: String,
    },
    /// `SameSite=None` without `secure`, which browsers reject.
    #[error(
        "cookie {name:?}: cookie_args.same_site = SameSite::None requires cookie_args.secure = \
         true (browsers drop such cookies); use SameSite::Lax or enable secure"
    )]
    SameSiteNoneNeedsSecure {
        /// The cookie name.
        name: String,
    },
    /// A path that does not start with `/` or holds characters a cookie attribute cannot.
    #[error(
        "cookie {name:?}: cookie_args.path {path:?} must start with '/' and hold only printable \
         ASCII without ';'"
    )]
    InvalidPath {
        /// The cookie name.
        name: String,
        /// The path that was given.
        path: String,
    },
    /// A domain that holds characters a cookie attribute cannot.
    #[error(
        "cookie {name:?}: cookie_args.domain {domain:?} must be an ASCII host name (punycode \
         for international names), without ';' or spaces"
    )]
    InvalidDomain {
        /// The cookie name.
        name: String,
        /// The domain that was given.
        domain: String,
    },
    /// Two sessions of one name were given storages: `default_backend` and
    /// `session_backend` for the default session's cookie name, or `session_backend` twice.
    #[error(
        "session {name:?} was given a backend twice: give each session name one \
         (default_backend is the session named by cookie_name)"
    )]
    DuplicateSession {
        /// The session name.
        name: String,
    },
    /// A count setting that is zero, which would turn its feature off entirely.
    #[error("{setting} is 0: it must be at least 1 (or left unset for its default)")]
    ZeroLimit {
        /// The setting, such as `max_cookie_pairs`.
        setting: &'static str,
    },
    /// A setting whose value cannot work, such as a network prefix longer than an address.
    #[error("{setting}: {problem}")]
    InvalidSetting {
        /// The setting, such as `metadata client_address`.
        setting: &'static str,
        /// What is wrong with it.
        problem: String,
    },
    /// A duration setting that is zero or negative.
    #[error("{setting} is {value}: it must be positive (or left unset)")]
    NonPositiveDuration {
        /// The setting, such as `session_max_age`.
        setting: &'static str,
        /// The value that was given.
        value: Duration,
    },
}
