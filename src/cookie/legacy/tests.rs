//! The readers against cookies the real frameworks wrote (`tests/data/legacy_vectors.json`,
//! made by `tests/legacy/make_vectors.py`), each read at the instant its case gives.

use serde_json::{json, Value};
use time::{Duration, OffsetDateTime};

use super::*;

const VECTORS: &str = include_str!("../../../tests/data/legacy_vectors.json");

struct Case {
    name: String,
    reader: LegacyReader,
    value: String,
    now: OffsetDateTime,
    expected: Option<Value>,
    refused: Option<String>,
}

fn at(seconds: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(seconds).expect("a valid instant")
}

fn cases() -> Vec<Case> {
    let vectors: Value = serde_json::from_str(VECTORS).expect("the vectors are JSON");
    let text = |case: &Value, key: &str| case[key].as_str().map(str::to_owned);
    vectors["cases"]
        .as_array()
        .expect("a list of cases")
        .iter()
        .map(|case| {
            let secret = text(case, "secret").expect("a secret");
            let mut cookie = match case["format"].as_str() {
                Some("webapp2") => LegacyCookie::webapp2(secret),
                Some("flask") => LegacyCookie::flask(secret),
                Some("django") => LegacyCookie::django(secret),
                other => panic!("unknown format {other:?}"),
            };
            cookie = cookie.cookie_name(text(case, "cookie_name").expect("a cookie name"));
            if let Some(max_age) = case["max_age"].as_i64() {
                cookie = cookie.max_age(Duration::seconds(max_age));
            }
            if let Some(fallbacks) = case["fallback_secrets"].as_array() {
                cookie = cookie.fallback_secrets(fallbacks.iter().filter_map(Value::as_str));
            }
            Case {
                name: text(case, "name").expect("a name"),
                reader: cookie.reader().expect("a valid reader"),
                value: text(case, "value").expect("a value"),
                now: at(case["now"].as_i64().expect("an instant")),
                expected: case.get("expected").cloned(),
                refused: text(case, "refused"),
            }
        })
        .collect()
}

fn kind(refusal: &Refusal) -> &'static str {
    match refusal {
        Refusal::Cookie(VerifyError::BadSignature) => "BadSignature",
        Refusal::Cookie(VerifyError::Expired { .. }) => "Expired",
        Refusal::Cookie(VerifyError::FromTheFuture { .. }) => "FromTheFuture",
        Refusal::Cookie(VerifyError::Malformed) => "Malformed",
        Refusal::Cookie(VerifyError::TooLong { .. }) => "TooLong",
        Refusal::Cookie(_) => "BadPayload",
        Refusal::TooLarge => "TooLarge",
        Refusal::PastDeadline => "PastDeadline",
    }
}

#[test]
fn the_frameworks_cookies_read_as_they_wrote_them() {
    let cases = cases();
    assert!(cases.len() >= 20);
    for case in &cases {
        let read = case.reader.read(&case.value, case.now);
        match (&case.expected, &case.refused) {
            (Some(expected), None) => {
                let values = read.unwrap_or_else(|e| panic!("{}: refused: {e}", case.name));
                assert_eq!(&Value::Object(values), expected, "{}", case.name);
            }
            (None, Some(refused)) => {
                let refusal = read.expect_err(&case.name);
                assert_eq!(kind(&refusal), refused, "{}: {refusal}", case.name);
            }
            _ => panic!("{}: a case is either expected or refused", case.name),
        }
    }
}

/// The parts of a value in its own separator: webapp2 `|`, itsdangerous `.`, Django `:`.
fn separator(reader: &LegacyReader) -> char {
    match reader.format {
        Format::Webapp2 => '|',
        Format::Flask => '.',
        Format::Django => ':',
    }
}

/// `value` with the character at byte `at` replaced by another from the same alphabet.
fn changed_at(value: &str, at: usize) -> String {
    let mut bytes = value.as_bytes().to_vec();
    bytes[at] = match bytes[at] {
        b'A' => b'B',
        b'0' => b'1',
        b'a' => b'b',
        _ => b'A',
    };
    String::from_utf8(bytes).expect("ASCII")
}

#[test]
fn any_change_truncation_or_lateness_is_refused() {
    for case in cases().into_iter().filter(|case| case.expected.is_some()) {
        let value = case.value.trim_matches('"');
        let sep = separator(&case.reader);
        // The last two separators split payload, timestamp and signature (a Flask payload may
        // start with a `.` of its own).
        let last = value.rfind(sep).expect("a signature");
        let middle = value[..last].rfind(sep).expect("a timestamp");
        let parts = [
            ("payload", middle / 2),
            ("timestamp", middle + 1),
            ("signature", last + 1 + (value.len() - last) / 2),
        ];
        for (part, at) in parts {
            let changed = changed_at(value, at);
            assert!(
                case.reader.read(&changed, case.now).is_err(),
                "{}: a changed {part} was accepted",
                case.name
            );
        }
        for cut in [1, value.len() / 2, value.len() - 1] {
            assert!(
                case.reader.read(&value[..cut], case.now).is_err(),
                "{}: truncated to {cut} bytes was accepted",
                case.name
            );
        }
        let years_later = case.now + Duration::days(3650);
        let late = case.reader.read(value, years_later).expect_err(&case.name);
        assert_eq!(kind(&late), "Expired", "{}", case.name);
        let early = case
            .reader
            .read(value, case.now - Duration::days(1))
            .expect_err(&case.name);
        assert_eq!(kind(&early), "FromTheFuture", "{}", case.name);
    }
}

#[test]
fn past_the_deadline_nothing_is_read() {
    let case = cases().into_iter().next().expect("a case");
    let mut reader = case.reader;
    reader.until = Some(case.now);
    assert_eq!(
        reader.read(&case.value, case.now),
        Err(Refusal::PastDeadline)
    );
    reader.until = Some(case.now + Duration::seconds(1));
    assert!(reader.read(&case.value, case.now).is_ok());
}

#[test]
fn overlong_values_are_refused_before_any_work() {
    let reader = LegacyCookie::flask("secret").reader().expect("valid");
    let long = "a".repeat(MAX_COOKIE_VALUE_LEN + 1);
    assert_eq!(
        reader.read(&long, OffsetDateTime::now_utc()),
        Err(Refusal::Cookie(VerifyError::TooLong { len: long.len() }))
    );
}

#[test]
fn only_a_well_formed_reader_builds() {
    assert!(
        LegacyCookie::webapp2("s").reader().is_err(),
        "readable forever"
    );
    assert!(LegacyCookie::webapp2("s")
        .max_age(Duration::days(1))
        .reader()
        .is_ok());
    let until = OffsetDateTime::now_utc() + Duration::days(30);
    assert!(LegacyCookie::webapp2("s").until(until).reader().is_ok());
    assert!(LegacyCookie::flask("").reader().is_err(), "empty secret");
    assert!(LegacyCookie::django("s")
        .fallback_secrets([""])
        .reader()
        .is_err());
    assert!(LegacyCookie::flask("s")
        .cookie_name("bad name")
        .reader()
        .is_err());
    assert!(LegacyCookie::django("s")
        .max_age(Duration::ZERO)
        .reader()
        .is_err());
    let reader = LegacyCookie::django("s").reader().expect("valid");
    assert_eq!(reader.cookie_name(), "sessionid");
    assert_eq!(reader.max_age, Some(Duration::days(14)));
    assert_eq!(
        LegacyCookie::flask("s").reader().map(|r| r.max_age).ok(),
        Some(Some(Duration::days(31)))
    );
}

#[test]
fn flask_flashes_become_messages_with_their_category_as_level() {
    assert_eq!(
        flask_flashes(json!([["error", "Oops"], ["message", {"rich": true}], "odd"])),
        json!([["Oops", "error"], [{"rich": true}, "message"], ["odd", null]])
    );
    assert_eq!(flask_flashes(json!("alone")), json!([["alone", null]]));
}

#[test]
fn secrets_stay_out_of_debug_output() {
    let cookie = LegacyCookie::flask("hunter2-the-old-secret");
    let text = format!("{cookie:?} {:?}", cookie.reader().expect("valid"));
    assert!(!text.contains("hunter2"), "{text}");
}
