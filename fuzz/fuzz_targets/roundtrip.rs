//! A JSON object, signed then verified and sealed then opened (with the primary or the former
//! key): the same data and timestamp come back, or the value is refused as too long.
//!
//! Input: a JSON object as text, when it is one (so the seeds are readable); otherwise the
//! object, name, timestamp and key are built from the bytes by `arbitrary`.

#![no_main]

use arbitrary::{Arbitrary, Unstructured};
use axum_session_store::cookie::MAX_COOKIE_VALUE_LEN;
use axum_session_store::test_util::VerifyError;
use axum_session_store_fuzz::{
    instant, instant_after_1970, through_json, Object, CONFIG, MAX_DEPTH, OLD_CONFIG, SEED_TIME,
};
use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Value};

fn depth(value: &Value) -> usize {
    match value {
        Value::Array(items) => 1 + items.iter().map(depth).max().unwrap_or(0),
        Value::Object(map) => 1 + map.values().map(depth).max().unwrap_or(0),
        _ => 0,
    }
}

fn input(data: &[u8]) -> Option<(String, Map<String, Value>, i64, bool)> {
    if let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(data) {
        // serde_json refuses over 128 levels when reading: keep to what `Object` builds.
        if map.values().map(depth).max().unwrap_or(0) < MAX_DEPTH {
            return Some(("session".to_owned(), map, SEED_TIME, false));
        }
    }
    let mut u = Unstructured::new(data);
    let name = String::arbitrary(&mut u).ok()?;
    let made_at = i64::arbitrary(&mut u).ok()?;
    let old_key = bool::arbitrary(&mut u).ok()?;
    let object = Object::arbitrary_take_rest(u).ok()?;
    Some((name, object.to_map(), made_at, old_key))
}

fuzz_target!(|data: &[u8]| {
    let Some((name, data, made_at, old_key)) = input(data) else {
        return;
    };
    let maker = if old_key { &*OLD_CONFIG } else { &*CONFIG };
    let expected = through_json(&data);

    let signed_at = instant_after_1970(made_at);
    let signed = maker
        .serializer()
        .serialize_at(&name, &data, signed_at)
        .expect("serializable");
    let verified = CONFIG
        .serializer()
        .deserialize_at(&name, &signed, None, signed_at);
    if signed.len() > MAX_COOKIE_VALUE_LEN {
        assert_eq!(verified, Err(VerifyError::TooLong { len: signed.len() }));
    } else {
        let verified = verified.expect("a signed value verifies");
        assert_eq!(verified.data, expected);
        assert_eq!(verified.signed_at, signed_at);
        assert_eq!(verified.signed_with_fallback, old_key);
    }

    let sealed_at = instant(made_at);
    let sealed = maker
        .private_serializer()
        .serialize_at(&name, &data, sealed_at)
        .expect("sealable");
    let opened = CONFIG
        .private_serializer()
        .deserialize_at(&name, &sealed, None, sealed_at);
    if sealed.len() > MAX_COOKIE_VALUE_LEN {
        assert_eq!(opened, Err(VerifyError::TooLong { len: sealed.len() }));
    } else {
        let opened = opened.expect("a sealed value opens");
        assert_eq!(opened.data, expected);
        assert_eq!(opened.signed_at, sealed_at);
        assert_eq!(opened.signed_with_fallback, old_key);
    }
});
