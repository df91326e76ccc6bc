//! A JSON object from fuzz input, signed and sealed (with the primary or the former key), then
//! changed by a non-empty list of byte changes: whenever the result differs from the value,
//! both codecs reject it, under any max age.

#![no_main]

use arbitrary::Arbitrary;
use axum_session_store_fuzz::{instant, mutate, Mutation, Object, CONFIG, OLD_CONFIG};
use libfuzzer_sys::fuzz_target;
use time::Duration;

#[derive(Arbitrary, Debug)]
struct Input {
    name: String,
    data: Object,
    made_at: i64,
    old_key: bool,
    first: Mutation,
    more: Vec<Mutation>,
}

fuzz_target!(|input: Input| {
    let maker = if input.old_key {
        &*OLD_CONFIG
    } else {
        &*CONFIG
    };
    let data = input.data.to_map();
    let name = &input.name;
    // Signed timestamps are unsigned digits: fold into 1970..=9999.
    let signed_at = axum_session_store_fuzz::instant_after_1970(input.made_at);
    let sealed_at = instant(input.made_at);
    let signed = maker
        .serializer()
        .serialize_at(name, &data, signed_at)
        .expect("serializable");
    let sealed = maker
        .private_serializer()
        .serialize_at(name, &data, sealed_at)
        .expect("sealable");

    let mut mutations = vec![input.first.clone()];
    mutations.extend(input.more.iter().cloned());
    for (original, now) in [(&signed, signed_at), (&sealed, sealed_at)] {
        let changed = mutate(original, &mutations);
        if changed == *original {
            continue;
        }
        for max_age in [None, Some(Duration::MAX)] {
            let verified = CONFIG
                .serializer()
                .deserialize_at(name, &changed, max_age, now);
            assert!(
                verified.is_err(),
                "{changed:?} (from {original:?}) verified: {verified:?}"
            );
            let opened = CONFIG
                .private_serializer()
                .deserialize_at(name, &changed, max_age, now);
            assert!(
                opened.is_err(),
                "{changed:?} (from {original:?}) opened: {opened:?}"
            );
        }
    }
});
