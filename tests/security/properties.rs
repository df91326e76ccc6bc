//! Property tests of the cookie codecs and of the `Cookie` header path, the same properties the
//! fuzz targets in `fuzz/` check (there without a time limit):
//!
//! - sign then verify, and seal then open, give back the data and the timestamp;
//! - the age window (max age, clock skew) is exactly as documented;
//! - every single change to a signed or sealed value is rejected;
//! - arbitrary strings never panic either codec and are rejected;
//! - two seals of the same data differ; a value made for one name is rejected for another;
//! - arbitrary raw `Cookie` headers never give a 5xx, and a session loads exactly when the
//!   first cookie of its name carries a valid value for it.

use crate::common;

use std::sync::LazyLock;

use axum::body::Body;
use axum::http::header::COOKIE;
use axum::http::{HeaderValue, Request, StatusCode};
use axum::Router;
use axum_session_store::backend::Storage;
use axum_session_store::cookie::MAX_COOKIE_VALUE_LEN;
use axum_session_store::test_util::{VerifyError, MAX_CLOCK_SKEW};
use axum_session_store::SessionConfig;
use proptest::collection::{btree_map, vec};
use proptest::prelude::*;
use proptest::sample::Index;
use serde_json::{Map, Value};
use time::{Duration, OffsetDateTime};

/// The default session (`session`) is signed; `other` is signed too.
static SIGNED: LazyLock<SessionConfig> = LazyLock::new(common::config);

/// The default session (`session`) is sealed; `other` stays signed.
static PRIVATE: LazyLock<SessionConfig> = LazyLock::new(|| {
    SessionConfig::builder()
        .secret_key(common::SECRET)
        .default_backend(Storage::private_cookie())
        .build()
        .unwrap()
});

/// The same secret with another key: nothing it made verifies with ours.
static STRANGER: LazyLock<SessionConfig> = LazyLock::new(|| {
    SessionConfig::builder()
        .secret_key("another secret of thirty-two bytes")
        .build()
        .unwrap()
});

/// Latest timestamp `OffsetDateTime` can hold: 9999-12-31T23:59:59Z.
const MAX_TIMESTAMP: i64 = 253_402_300_799;

fn at(timestamp: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(timestamp).unwrap()
}

fn cases(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        ..ProptestConfig::default()
    }
}

// ---------------------------------------------------------------------------------------------
// Strategies

/// Short strings of any chars (proptest favours the awkward ones: controls, surrogates' edges,
/// combining marks, non-BMP).
fn text() -> impl Strategy<Value = String> {
    vec(any::<char>(), 0..10).prop_map(String::from_iter)
}

/// Finite numbers of every kind: integers at the edges, floats normal and subnormal.
fn number() -> impl Strategy<Value = Value> {
    use proptest::num::f64;
    prop_oneof![
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        (f64::NORMAL | f64::SUBNORMAL | f64::ZERO | f64::POSITIVE | f64::NEGATIVE)
            .prop_map(|x| serde_json::Number::from_f64(x).map_or(Value::Null, Value::Number)),
    ]
}

/// Any JSON value, nested at most three deep with a few elements per level.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        number(),
        text().prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..4).prop_map(Value::Array),
            btree_map(text(), inner, 0..4).prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A session's data: a JSON object.
fn json_object() -> impl Strategy<Value = Map<String, Value>> {
    btree_map(text(), json_value(), 0..5).prop_map(|m| m.into_iter().collect())
}

/// Cookie names as configured, and names no cookie could have (the codecs take any `&str`).
fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => "[A-Za-z0-9_.-]{1,16}",
        1 => text(),
    ]
}

/// Strings that look more or less like cookie values, and strings that do not at all.
fn junk() -> impl Strategy<Value = String> {
    prop_oneof![
        text(),
        any::<String>(),
        "[A-Za-z0-9_-]{0,200}",
        "[A-Za-z0-9_=+/-]{0,80}\\|[0-9+ -]{0,21}\\|[A-Za-z0-9_=+/-]{0,50}",
        "[A-Za-z0-9_-]{0,60}\\|[0-9]{1,19}\\|[A-Za-z0-9_-]{43}",
        "[ -~]{0,120}",
        "[A-Za-z0-9_-]{4090,4200}",
    ]
}

/// One change to a string.
#[derive(Clone, Debug)]
enum Mutation {
    /// The char at a position replaced by another.
    Replace(Index, char),
    /// One bit of the (ASCII) char at a position flipped: a single-bit error.
    FlipBit(Index, u8),
    /// A char inserted before a position (or at the end).
    Insert(Index, char),
    /// The char at a position deleted.
    Delete(Index),
    /// Cut to a shorter length.
    Truncate(Index),
    /// Something appended.
    Append(String),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    // Chars that a cookie value can hold, and any char at all.
    let replacement = prop_oneof![
        3 => proptest::char::range('!', '~'),
        1 => any::<char>(),
    ];
    prop_oneof![
        4 => (any::<Index>(), replacement.clone()).prop_map(|(i, c)| Mutation::Replace(i, c)),
        3 => (any::<Index>(), 0u8..7).prop_map(|(i, bit)| Mutation::FlipBit(i, bit)),
        2 => (any::<Index>(), replacement).prop_map(|(i, c)| Mutation::Insert(i, c)),
        2 => any::<Index>().prop_map(Mutation::Delete),
        2 => any::<Index>().prop_map(Mutation::Truncate),
        1 => "[!-~]{1,4}".prop_map(Mutation::Append),
    ]
}

impl Mutation {
    /// The changed string (possibly equal to `s`, e.g. a char replaced by itself).
    fn apply(&self, s: &str) -> String {
        let mut chars: Vec<char> = s.chars().collect();
        let len = chars.len();
        match self {
            Self::Replace(i, c) if len > 0 => chars[i.index(len)] = *c,
            Self::FlipBit(i, bit) if len > 0 => {
                let position = i.index(len);
                let flipped = u32::from(chars[position]) ^ (1 << bit);
                chars[position] = char::from_u32(flipped).unwrap_or('\u{fffd}');
            }
            Self::Insert(i, c) => chars.insert(i.index(len + 1), *c),
            Self::Delete(i) if len > 0 => {
                chars.remove(i.index(len));
            }
            Self::Truncate(i) if len > 0 => chars.truncate(i.index(len)),
            Self::Append(tail) => chars.extend(tail.chars()),
            _ => {}
        }
        chars.into_iter().collect()
    }
}

// ---------------------------------------------------------------------------------------------
// The codecs

/// Whether each codec accepts `value` for `name`, checked with and without a max age and at a
/// few instants (never panicking is part of the property).
fn accepted_by_either(config: &SessionConfig, name: &str, value: &str, now: i64) -> bool {
    let mut accepted = false;
    for max_age in [None, Some(Duration::seconds(1)), Some(Duration::days(400))] {
        for now in [at(now), at(0), at(MAX_TIMESTAMP)] {
            accepted |= config
                .serializer()
                .deserialize_at(name, value, max_age, now)
                .is_ok();
            accepted |= config
                .private_serializer()
                .deserialize_at(name, value, max_age, now)
                .is_ok();
        }
    }
    accepted
}

proptest! {
    #![proptest_config(cases(256))]

    #[test]
    fn sign_then_verify_round_trips(
        name in name(),
        data in json_object(),
        timestamp in 0..=MAX_TIMESTAMP,
    ) {
        let signer = SIGNED.serializer();
        let value = signer.serialize_at(&name, &data, at(timestamp)).unwrap();
        let verified = signer.deserialize_at(&name, &value, None, at(timestamp));
        if value.len() > MAX_COOKIE_VALUE_LEN {
            prop_assert_eq!(verified, Err(VerifyError::TooLong { len: value.len() }));
        } else {
            let verified = verified.unwrap();
            // Exactly, floats included (serde_json's `float_roundtrip` is on).
            prop_assert_eq!(&verified.data, &data);
            prop_assert_eq!(verified.signed_at, at(timestamp));
            prop_assert!(!verified.signed_with_fallback);
            // The signed value is ASCII and cookie-safe: no quoting, no separators.
            prop_assert!(value.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_|".contains(&b)));
        }
    }

    #[test]
    fn seal_then_open_round_trips(
        name in name(),
        data in json_object(),
        timestamp in 0..=MAX_TIMESTAMP,
    ) {
        let sealer = SIGNED.private_serializer();
        let value = sealer.serialize_at(&name, &data, at(timestamp)).unwrap();
        let opened = sealer.deserialize_at(&name, &value, None, at(timestamp));
        if value.len() > MAX_COOKIE_VALUE_LEN {
            prop_assert_eq!(opened, Err(VerifyError::TooLong { len: value.len() }));
        } else {
            let opened = opened.unwrap();
            prop_assert_eq!(&opened.data, &data);
            prop_assert_eq!(opened.signed_at, at(timestamp));
            prop_assert!(!opened.signed_with_fallback);
            prop_assert!(value.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_".contains(&b)));
        }
    }

    /// Accepted exactly when the value is at most `max_age` old and at most `MAX_CLOCK_SKEW`
    /// in the future, with the documented error otherwise.
    #[test]
    fn the_age_window_is_exact(
        timestamp in 0..=MAX_TIMESTAMP - 1_000,
        age in -200i64..1_000,
        max_age in proptest::option::of(0i64..500),
    ) {
        let now = at((timestamp + age).max(0));
        let age = Duration::seconds(now.unix_timestamp() - timestamp);
        let max_age = max_age.map(Duration::seconds);
        let expected = if -age > MAX_CLOCK_SKEW {
            Err(VerifyError::FromTheFuture { ahead: -age })
        } else {
            match max_age {
                Some(max_age) if age > max_age => Err(VerifyError::Expired { expired_for: age - max_age }),
                _ => Ok(at(timestamp)),
            }
        };
        let data = Map::from_iter([("k".to_owned(), Value::from(1))]);
        let signed = SIGNED.serializer().serialize_at("n", &data, at(timestamp)).unwrap();
        let sealed = SIGNED.private_serializer().serialize_at("n", &data, at(timestamp)).unwrap();
        prop_assert_eq!(
            SIGNED.serializer().deserialize_at("n", &signed, max_age, now).map(|v| v.signed_at),
            expected.clone()
        );
        prop_assert_eq!(
            SIGNED.private_serializer().deserialize_at("n", &sealed, max_age, now).map(|v| v.signed_at),
            expected
        );
    }

    #[test]
    fn every_change_to_a_signed_value_is_rejected(
        name in name(),
        data in json_object(),
        mutations in vec(mutation(), 1..8),
    ) {
        let now = OffsetDateTime::now_utc();
        let value = SIGNED.serializer().serialize_at(&name, &data, now).unwrap();
        for mutation in &mutations {
            let changed = mutation.apply(&value);
            if changed == value {
                continue;
            }
            for max_age in [None, Some(Duration::days(1))] {
                let result = SIGNED.serializer().deserialize_at(&name, &changed, max_age, now);
                prop_assert!(result.is_err(), "{:?} of {:?} gave {:?}: {:?}", mutation, value, changed, result);
            }
        }
    }

    #[test]
    fn every_change_to_a_sealed_value_is_rejected(
        name in name(),
        data in json_object(),
        mutations in vec(mutation(), 1..8),
    ) {
        let now = OffsetDateTime::now_utc();
        let value = SIGNED.private_serializer().serialize_at(&name, &data, now).unwrap();
        for mutation in &mutations {
            let changed = mutation.apply(&value);
            if changed == value {
                continue;
            }
            for max_age in [None, Some(Duration::days(1))] {
                let result = SIGNED.private_serializer().deserialize_at(&name, &changed, max_age, now);
                prop_assert!(result.is_err(), "{:?} of {:?} gave {:?}: {:?}", mutation, value, changed, result);
            }
        }
    }

    #[test]
    fn arbitrary_strings_are_rejected_without_panicking(
        name in name(),
        value in junk(),
        now in 0..=MAX_TIMESTAMP,
    ) {
        prop_assert!(!accepted_by_either(&SIGNED, &name, &value, now), "{:?} accepted", value);
    }

    #[test]
    fn two_seals_of_the_same_data_differ(name in name(), data in json_object()) {
        let now = OffsetDateTime::now_utc();
        let sealer = SIGNED.private_serializer();
        let first = sealer.serialize_at(&name, &data, now).unwrap();
        let second = sealer.serialize_at(&name, &data, now).unwrap();
        prop_assert_ne!(&first, &second);
        if first.len() <= MAX_COOKIE_VALUE_LEN {
            for value in [&first, &second] {
                prop_assert_eq!(&sealer.deserialize_at(&name, value, None, now).unwrap().data, &data);
            }
        }
    }

    /// A value made for one name, by the other codec, or with another key is rejected.
    #[test]
    fn values_are_bound_to_name_codec_and_key(
        name in name(),
        other in name(),
        data in json_object(),
    ) {
        let now = OffsetDateTime::now_utc();
        let signed = SIGNED.serializer().serialize_at(&name, &data, now).unwrap();
        let sealed = SIGNED.private_serializer().serialize_at(&name, &data, now).unwrap();
        prop_assume!(signed.len() <= MAX_COOKIE_VALUE_LEN && sealed.len() <= MAX_COOKIE_VALUE_LEN);
        if other != name {
            prop_assert_eq!(
                SIGNED.serializer().deserialize_at(&other, &signed, None, now),
                Err(VerifyError::BadSignature)
            );
            prop_assert_eq!(
                SIGNED.private_serializer().deserialize_at(&other, &sealed, None, now),
                Err(VerifyError::BadSignature)
            );
        }
        prop_assert!(SIGNED.private_serializer().deserialize_at(&name, &signed, None, now).is_err());
        prop_assert!(SIGNED.serializer().deserialize_at(&name, &sealed, None, now).is_err());
        prop_assert_eq!(
            STRANGER.serializer().deserialize_at(&name, &signed, None, now),
            Err(VerifyError::BadSignature)
        );
        prop_assert_eq!(
            STRANGER.private_serializer().deserialize_at(&name, &sealed, None, now),
            Err(VerifyError::BadSignature)
        );
    }
}

// ---------------------------------------------------------------------------------------------
// The `Cookie` header, through a router

/// Runs `future` on a current-thread runtime made once per thread.
fn block_on<F: std::future::Future>(future: F) -> F::Output {
    thread_local! {
        static RUNTIME: tokio::runtime::Runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
    }
    RUNTIME.with(|runtime| runtime.block_on(future))
}

static SIGNED_APP: LazyLock<Router> = LazyLock::new(|| common::app::router(SIGNED.clone()));
static PRIVATE_APP: LazyLock<Router> = LazyLock::new(|| common::app::router(PRIVATE.clone()));

/// GETs `uri` with the given `Cookie` headers.
fn get(app: &Router, uri: &str, cookies: &[HeaderValue]) -> common::Reply {
    let mut request = Request::get(uri);
    for cookie in cookies {
        request = request.header(COOKIE, cookie.clone());
    }
    block_on(common::send(app, request.body(Body::empty()).unwrap()))
}

/// Bytes a header value can hold (visible ASCII, space, tab, obs-text), with the cookie
/// separators and likely names over-represented.
fn header_bytes() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        4 => vec(prop_oneof![0x20u8..=0x7e, Just(b'\t'), 0x80u8..=0xff], 1..8),
        2 => prop_oneof![Just(b";".to_vec()), Just(b"; ".to_vec()), Just(b"=".to_vec()), Just(b"\"".to_vec())],
        1 => prop_oneof![Just(b"session".to_vec()), Just(b"other".to_vec()), Just(b"session=".to_vec())],
    ];
    vec(piece, 0..24).prop_map(|pieces| pieces.concat())
}

/// Who a generated cookie value was made for.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Codec {
    Signed,
    Sealed,
}

/// A cookie value in a generated `Cookie` header.
#[derive(Clone, Debug)]
enum CookieValue {
    /// Made by one of our codecs for the cookie `for_name`, maybe quoted, maybe changed.
    Made {
        for_name: &'static str,
        codec: Codec,
        data: Map<String, Value>,
        quoted: bool,
        mutation: Option<Mutation>,
    },
    /// Cookie-octets, or anything a header can hold short of `;`.
    Junk(String),
}

fn small_object() -> impl Strategy<Value = Map<String, Value>> {
    btree_map("[a-z]{1,6}", json_value(), 0..4).prop_map(|m| m.into_iter().collect())
}

fn cookie_value() -> impl Strategy<Value = CookieValue> {
    let made = (
        prop_oneof![Just("session"), Just("other")],
        prop_oneof![Just(Codec::Signed), Just(Codec::Sealed)],
        small_object(),
        any::<bool>(),
        proptest::option::weighted(0.3, mutation()),
    )
        .prop_map(
            |(for_name, codec, data, quoted, mutation)| CookieValue::Made {
                for_name,
                codec,
                data,
                quoted,
                mutation,
            },
        );
    prop_oneof![
        3 => made,
        1 => "[!#-+\\--:<-\\[\\]-~]{0,40}".prop_map(CookieValue::Junk),
        1 => "[^;\\x00-\\x08\\x0a-\\x1f\\x7f]{0,20}".prop_map(CookieValue::Junk),
    ]
}

/// Names as sent (the parser trims spaces), including near misses.
fn cookie_name() -> impl Strategy<Value = &'static str> {
    prop_oneof![
        Just("session"),
        Just(" session"),
        Just("session "),
        Just("other"),
        Just("Session"),
        Just("sessio"),
        Just("x"),
    ]
}

/// What a session should load as: the data of the first cookie of its name (as the parser
/// sees it) that is a valid value for it, unchanged, else `None` (a new, empty session).
///
/// `pairs` holds, per cookie: its name as sent, the value as our codec made it, how it was
/// made, and the value as the parser reads it.
fn expected(
    pairs: &[(&str, String, &CookieValue, String)],
    name: &str,
    codec: Codec,
) -> Option<Map<String, Value>> {
    pairs
        .iter()
        .filter(|(n, ..)| n.trim() == name)
        .find_map(|(_, made, how, parsed)| match how {
            CookieValue::Made {
                for_name,
                codec: made_with,
                data,
                ..
            } if *for_name == name
                && *made_with == codec
                && parsed == made
                && made.len() <= MAX_COOKIE_VALUE_LEN =>
            {
                Some(data.clone())
            }
            _ => None,
        })
}

proptest! {
    #![proptest_config(cases(256))]

    /// Any bytes a `Cookie` header can carry: a 200, a session, never a 5xx or a panic.
    #[test]
    fn raw_cookie_headers_never_fail(
        headers in vec(header_bytes(), 1..3),
        uri in prop_oneof![Just("/dump"), Just("/dump-other"), Just("/touch"), Just("/set?k=1")],
    ) {
        let headers: Vec<HeaderValue> = headers
            .iter()
            .filter_map(|h| HeaderValue::from_bytes(h).ok())
            .collect();
        for app in [&*SIGNED_APP, &*PRIVATE_APP] {
            let reply = get(app, uri, &headers);
            prop_assert_eq!(reply.status, StatusCode::OK, "{:?} on {}: {:?}", headers, uri, reply);
        }
    }

    /// Headers of several cookies, with duplicates, quotes, near-miss names, junk, and values
    /// made for another name or codec: each session loads the first cookie of its name that is
    /// a valid, unchanged value made for it by its codec, and is new when there is none.
    #[test]
    fn sessions_load_from_the_first_valid_cookie_of_their_name(
        pairs in vec((cookie_name(), cookie_value()), 0..6),
        separators in vec(prop_oneof![Just("; "), Just(";"), Just(" ; ")], 6),
        split in any::<Index>(),
    ) {
        let now = OffsetDateTime::now_utc();
        // (name, value as made before any change, the generator's description, value as sent)
        let encoded: Vec<(&str, String, &CookieValue, String)> = pairs
            .iter()
            .map(|(name, value)| {
                let (original, sent) = match value {
                    CookieValue::Made { for_name, codec, data, quoted, mutation } => {
                        let made = match codec {
                            Codec::Signed => SIGNED.serializer().serialize_at(for_name, data, now).unwrap(),
                            Codec::Sealed => SIGNED.private_serializer().serialize_at(for_name, data, now).unwrap(),
                        };
                        let changed = mutation.as_ref().map_or_else(|| made.clone(), |m| m.apply(&made));
                        // What a header cannot carry, or would split: controls, `;`, quotes.
                        let changed: String = changed
                            .chars()
                            .filter(|&c| !matches!(c, ';' | '"' | '\x7f') && (c >= ' ' || c == '\t'))
                            .collect();
                        let sent = if *quoted { format!("\"{changed}\"") } else { changed.clone() };
                        (made, sent)
                    }
                    CookieValue::Junk(junk) => (String::new(), junk.clone()),
                };
                (*name, original, value, sent)
            })
            .collect();
        // The parser's view: the value with spaces trimmed and one pair of quotes stripped.
        let parsed: Vec<(&str, String, &CookieValue, String)> = encoded
            .iter()
            .map(|(name, original, value, sent)| {
                let trimmed = sent.trim();
                let unquoted = trimmed
                    .strip_prefix('"')
                    .and_then(|v| v.strip_suffix('"'))
                    .unwrap_or(trimmed);
                (*name, original.clone(), *value, unquoted.to_owned())
            })
            .collect();

        let rendered: Vec<String> = encoded
            .iter()
            .map(|(name, _, _, sent)| format!("{name}={sent}"))
            .collect();
        let at_split = split.index(rendered.len() + 1);
        let join = |pairs: &[String]| {
            let mut header = String::new();
            for (i, pair) in pairs.iter().enumerate() {
                if i > 0 {
                    header.push_str(separators[i % separators.len()]);
                }
                header.push_str(pair);
            }
            header
        };
        let headers: Vec<HeaderValue> = [join(&rendered[..at_split]), join(&rendered[at_split..])]
            .iter()
            .filter(|h| !h.is_empty())
            .map(|h| HeaderValue::from_bytes(h.as_bytes()))
            .collect::<Result<_, _>>()
            .map_err(|e| TestCaseError::reject(format!("not a header value: {e}")))?;

        for (app, session_codec) in [(&*SIGNED_APP, Codec::Signed), (&*PRIVATE_APP, Codec::Sealed)] {
            for (uri, name, codec) in [
                ("/dump", "session", session_codec),
                ("/dump-other", "other", Codec::Signed),
            ] {
                let reply = get(app, uri, &headers);
                prop_assert_eq!(reply.status, StatusCode::OK);
                let dump = common::dumped(&reply);
                let want = expected(&parsed, name, codec);
                prop_assert_eq!(
                    dump["is_new"].as_bool(),
                    Some(want.is_none()),
                    "{} of {:?} ({:?}): {:?}", name, headers, session_codec, dump
                );
                prop_assert_eq!(&dump["values"], &Value::Object(want.unwrap_or_default()));
            }
        }
    }
}
