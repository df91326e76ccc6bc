//! Arbitrary `(name, value)` through both codecs, with and without a max age: never a panic,
//! and whatever is accepted is something our codec made: its data, signed or sealed again for
//! the same name with the same timestamp, verifies and gives the same data back.
//!
//! Input: the name, a `\n`, then the value (bytes that are not UTF-8 replaced). Values are
//! checked as of `SEED_TIME`, when the valid values in the seed corpus were made.

#![no_main]

use axum_session_store::test_util::VerifiedCookie;
use axum_session_store_fuzz::{instant, through_json, CONFIG, SEED_TIME};
use libfuzzer_sys::fuzz_target;
use time::Duration;

fuzz_target!(|data: &[u8]| {
    let (name, value) = match data.iter().position(|&b| b == b'\n') {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (&b"session"[..], data),
    };
    let name = String::from_utf8_lossy(name);
    let value = String::from_utf8_lossy(value);
    let now = instant(SEED_TIME);
    let signer = CONFIG.serializer();
    let sealer = CONFIG.private_serializer();

    for max_age in [
        None,
        Some(Duration::ZERO),
        Some(Duration::days(400)),
        Some(Duration::MAX),
    ] {
        if let Ok(verified) = signer.deserialize_at(&name, &value, max_age, now) {
            let again = signer
                .serialize_at(&name, &verified.data, verified.signed_at)
                .expect("serializable");
            let reread = signer.deserialize_at(&name, &again, max_age, now);
            check_same(&verified, reread);
            assert!(
                sealer.deserialize_at(&name, &value, max_age, now).is_err(),
                "signed and sealed"
            );
        }
        if let Ok(opened) = sealer.deserialize_at(&name, &value, max_age, now) {
            let again = sealer
                .serialize_at(&name, &opened.data, opened.signed_at)
                .expect("sealable");
            let reread = sealer.deserialize_at(&name, &again, max_age, now);
            check_same(&opened, reread);
        }
    }
});

fn check_same(
    accepted: &VerifiedCookie,
    reread: Result<VerifiedCookie, axum_session_store::test_util::VerifyError>,
) {
    let reread = reread.expect("made again from accepted data, it verifies");
    assert_eq!(reread.data, through_json(&accepted.data));
    assert_eq!(reread.signed_at, accepted.signed_at);
    assert!(
        !reread.signed_with_fallback,
        "made again with the primary key"
    );
}
