//! Every configuration mistake fails at `build()` with a `ConfigError` naming the key and the fix.

use axum_session_store::cookie::{CookieArgs, SameSite};
use axum_session_store::{ConfigError, SessionConfig, SessionConfigBuilder};
use time::Duration;

const SECRET: &str = "0123456789abcdef0123456789abcdef";

fn builder() -> SessionConfigBuilder {
    SessionConfig::builder().secret_key(SECRET)
}

fn insecure() -> CookieArgs {
    CookieArgs::default().secure(false)
}

/// Builds and returns the error, checking that its message names `setting`.
fn error_naming(builder: SessionConfigBuilder, setting: &str) -> ConfigError {
    let err = builder.build().unwrap_err();
    assert!(
        err.to_string().contains(setting),
        "{err:?}: message does not name {setting}"
    );
    err
}

#[test]
fn secret_key_missing_or_short() {
    assert_eq!(
        error_naming(SessionConfig::builder(), "secret_key"),
        ConfigError::MissingSecretKey
    );
    let short = SessionConfig::builder().secret_key(&SECRET[..31]);
    assert_eq!(
        error_naming(short, "secret_key"),
        ConfigError::SecretKeyTooShort { len: 31 }
    );
    assert!(SessionConfig::builder()
        .secret_key(&SECRET[..32])
        .build()
        .is_ok());
    let err = SessionConfig::builder()
        .secret_key("x")
        .build()
        .unwrap_err();
    assert!(
        err.to_string().contains("openssl rand -base64 48"),
        "says how to generate one: {err}"
    );
}

/// A long secret made of a handful of bytes (`"x".repeat(32)`, `[7; 32]`, a word repeated) is
/// guessable whatever its length: refused, as Django's deploy check refuses one of fewer than
/// five distinct characters. A hex secret (16 distinct) and random bytes pass.
#[test]
fn secret_key_with_too_few_distinct_bytes() {
    for (secret, distinct) in [
        ("x".repeat(32).into_bytes(), 1),
        (vec![7u8; 32], 1),
        ("abcd".repeat(12).into_bytes(), 4),
        ("password".repeat(4).into_bytes(), 7),
    ] {
        let err = error_naming(SessionConfig::builder().secret_key(&secret), "secret_key");
        assert_eq!(err, ConfigError::SecretKeyTooSimple { distinct });
        assert!(err.to_string().contains("openssl rand"), "{err}");
    }
    assert!(SessionConfig::builder()
        .secret_key("0123456789abcdef".repeat(2))
        .build()
        .is_ok());
    let err = builder()
        .fallback_keys([SECRET.to_owned(), "z".repeat(40)])
        .build()
        .unwrap_err();
    assert_eq!(
        err,
        ConfigError::FallbackKeyTooSimple {
            index: 1,
            distinct: 1
        }
    );
    assert!(err.to_string().contains("fallback_keys[1]"), "{err}");
}

#[test]
fn fallback_key_too_short() {
    let b = builder().fallback_keys([SECRET, "short"]);
    assert_eq!(
        error_naming(b, "fallback_keys[1]"),
        ConfigError::FallbackKeyTooShort { index: 1, len: 5 }
    );
}

#[test]
fn invalid_cookie_names() {
    for name in [
        "",
        "has space",
        "semi;colon",
        "eq=ual",
        "naïve",
        "quote\"d",
        &"n".repeat(257),
    ] {
        let err = builder().cookie_name(name).build().unwrap_err();
        assert_eq!(
            err,
            ConfigError::InvalidCookieName {
                name: name.to_owned()
            }
        );
    }
    assert!(builder().cookie_name("sid_v2.app-1").build().is_ok());
}

#[test]
fn host_prefix_rules() {
    let host = || builder().cookie_name("__Host-session");
    assert!(host().build().is_ok(), "the defaults satisfy __Host-");
    assert!(matches!(
        error_naming(host().cookie_args(insecure()), "secure"),
        ConfigError::HostPrefixNeedsSecure { .. }
    ));
    let sub_path = CookieArgs::default().path("/app");
    assert!(matches!(
        error_naming(host().cookie_args(sub_path), "path"),
        ConfigError::HostPrefixNeedsRootPath { .. }
    ));
    let domain = CookieArgs::default().domain("example.com");
    assert!(matches!(
        error_naming(host().cookie_args(domain), "domain"),
        ConfigError::HostPrefixForbidsDomain { .. }
    ));
    // Browsers match the prefix case-insensitively; so do we.
    let lower = builder()
        .cookie_name("__host-session")
        .cookie_args(insecure());
    assert!(matches!(
        lower.build(),
        Err(ConfigError::HostPrefixNeedsSecure { .. })
    ));
}

#[test]
fn secure_prefix_rules() {
    let secure = builder().cookie_name("__Secure-session");
    assert!(secure.build().is_ok());
    let b = builder()
        .cookie_name("__SECURE-session")
        .cookie_args(insecure());
    assert!(matches!(
        error_naming(b, "secure"),
        ConfigError::SecurePrefixNeedsSecure { .. }
    ));
}

#[test]
fn same_site_none_needs_secure() {
    let args = insecure().same_site(SameSite::None);
    assert!(matches!(
        error_naming(builder().cookie_args(args), "same_site"),
        ConfigError::SameSiteNoneNeedsSecure { .. }
    ));
    let ok = CookieArgs::default().same_site(SameSite::None);
    assert!(builder().cookie_args(ok).build().is_ok());
}

#[test]
fn per_session_cookie_args_are_checked_too() {
    let b = builder().session_cookie_args("__Host-cart", insecure());
    assert!(matches!(
        error_naming(b, "__Host-cart"),
        ConfigError::HostPrefixNeedsSecure { .. }
    ));
    let b = builder().session_cookie_args("bad name", CookieArgs::default());
    assert!(matches!(
        b.build(),
        Err(ConfigError::InvalidCookieName { .. })
    ));
}

#[test]
fn bad_paths_and_domains() {
    for path in ["", "app", "/a;b", "/a\nb"] {
        let b = builder().cookie_args(CookieArgs::default().path(path));
        assert!(
            matches!(error_naming(b, "path"), ConfigError::InvalidPath { .. }),
            "{path:?}"
        );
    }
    for domain in ["", "a b", "a;b", "é.example"] {
        let b = builder().cookie_args(CookieArgs::default().domain(domain));
        assert!(
            matches!(error_naming(b, "domain"), ConfigError::InvalidDomain { .. }),
            "{domain:?}"
        );
    }
}

#[test]
fn durations_must_be_positive() {
    let b = builder().session_max_age(Duration::ZERO);
    assert!(matches!(
        error_naming(b, "session_max_age"),
        ConfigError::NonPositiveDuration { .. }
    ));
    let args = CookieArgs::default().max_age(Duration::seconds(-1));
    let b = builder().cookie_args(args);
    assert!(matches!(
        error_naming(b, "cookie_args.max_age"),
        ConfigError::NonPositiveDuration { .. }
    ));
}

#[test]
fn defaults_are_the_documented_ones() {
    let config = builder().build().unwrap();
    assert_eq!(config.cookie_name(), "session");
    assert_eq!(config.session_max_age(), None);
    let args = config.cookie_args();
    assert_eq!(
        (
            args.max_age,
            args.domain.as_deref(),
            args.path.as_str(),
            args.secure,
            args.http_only,
            args.same_site
        ),
        (None, None, "/", true, true, SameSite::Lax)
    );
}

#[test]
fn debug_output_never_shows_secrets() {
    let b = builder().fallback_keys(["another secret of thirty-two b!!"]);
    assert!(!format!("{b:?}").contains(SECRET));
    let config = b.build().unwrap();
    let debug = format!("{config:?}");
    assert!(
        !debug.contains(SECRET) && !debug.contains("another secret"),
        "{debug}"
    );
}

/// A zero or negative cleanup interval is refused when the task is spawned, instead of killing
/// the task with a panic (tokio's `interval` panics on zero).
#[tokio::test]
async fn spawn_cleanup_refuses_a_non_positive_interval() {
    let backend = std::sync::Arc::new(axum_session_store::backend::MemoryBackend::new());
    for interval in [Duration::ZERO, Duration::seconds(-1)] {
        let err =
            axum_session_store::backend::spawn_cleanup(backend.clone(), interval).unwrap_err();
        assert_eq!(
            err,
            ConfigError::NonPositiveDuration {
                setting: "spawn_cleanup interval",
                value: interval
            }
        );
    }
    let task =
        axum_session_store::backend::spawn_cleanup(backend, Duration::milliseconds(10)).unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    assert!(!task.is_finished(), "the task keeps running");
    task.abort();
}
