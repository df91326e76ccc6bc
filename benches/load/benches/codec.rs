//! Codec microbenchmarks: signing and verifying a realistic session cookie, beside the bare
//! HMAC-SHA256 of the same bytes (the floor).
//!
//! `cargo bench --manifest-path benches/load/Cargo.toml --bench codec` (about a minute; or
//! `cargo bench --bench codec` in benches/load, a workspace of its own). Allocation counts per
//! operation come from `cargo run --release --manifest-path benches/load/Cargo.toml --bin
//! codec-allocs`, which runs the same operations on the same data under a counting global
//! allocator.

use std::hint::black_box;
use std::time::Duration;

use axum_session_store::SessionConfig;
use criterion::{Criterion, Throughput};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use axum_session_store_load::fixture;

fn codec(c: &mut Criterion) {
    let config = SessionConfig::builder()
        .secret_key(fixture::SECRET)
        .build()
        .expect("valid config");
    let signer = config.serializer();
    let sealer = config.private_serializer();
    let now = fixture::signed_at();
    let name = fixture::COOKIE_NAME;
    let session = fixture::session();
    let id_session = fixture::id_session();

    let cookie = signer
        .serialize_at(name, &session, now)
        .expect("serializable");
    let id_cookie = signer
        .serialize_at(name, &id_session, now)
        .expect("serializable");
    let sealed = sealer.serialize_at(name, &session, now).expect("sealable");
    let json_len = serde_json::to_vec(&session).expect("serializable").len();
    // The bytes the signature covers: `name|payload|timestamp`.
    let message = format!(
        "{name}|{}",
        cookie.rsplit_once('|').expect("signed value").0
    );
    println!(
        "session JSON: {json_len} bytes; signed cookie value: {} bytes; signed id cookie value: \
         {} bytes; sealed cookie value: {} bytes; HMAC input: {} bytes",
        cookie.len(),
        id_cookie.len(),
        sealed.len(),
        message.len()
    );
    println!(
        "allocations per op: see `cargo run --release --manifest-path benches/load/Cargo.toml \
         --bin codec-allocs`"
    );

    let keyed = Hmac::<Sha256>::new_from_slice(&[0x42; 32]).expect("any key length");
    let tag = keyed
        .clone()
        .chain_update(message.as_bytes())
        .finalize()
        .into_bytes();

    let mut group = c.benchmark_group("hmac-sha256-floor");
    group.throughput(Throughput::Bytes(message.len() as u64));
    group.bench_function("sign", |b| {
        b.iter(|| {
            keyed
                .clone()
                .chain_update(black_box(message.as_bytes()))
                .finalize()
                .into_bytes()
        })
    });
    group.bench_function("sign+verify", |b| {
        b.iter(|| {
            let signed = keyed
                .clone()
                .chain_update(black_box(message.as_bytes()))
                .finalize()
                .into_bytes();
            let verified = keyed
                .clone()
                .chain_update(black_box(message.as_bytes()))
                .verify_slice(&tag)
                .is_ok();
            (signed, verified)
        })
    });
    group.finish();

    let mut group = c.benchmark_group("signed-cookie");
    group.throughput(Throughput::Bytes(json_len as u64));
    group.bench_function("serialize_at", |b| {
        b.iter(|| signer.serialize_at(name, black_box(&session), now))
    });
    group.bench_function("deserialize_at", |b| {
        b.iter(|| signer.deserialize_at(name, black_box(&cookie), None, now))
    });
    group.bench_function("serialize_at+deserialize_at", |b| {
        b.iter(|| {
            let value = signer
                .serialize_at(name, black_box(&session), now)
                .expect("serializable");
            signer.deserialize_at(name, &value, None, now)
        })
    });
    group.finish();

    let mut group = c.benchmark_group("signed-id-cookie");
    group.bench_function("serialize_at", |b| {
        b.iter(|| signer.serialize_at(name, black_box(&id_session), now))
    });
    group.bench_function("deserialize_at", |b| {
        b.iter(|| signer.deserialize_at(name, black_box(&id_cookie), None, now))
    });
    group.bench_function("serialize_at+deserialize_at", |b| {
        b.iter(|| {
            let value = signer
                .serialize_at(name, black_box(&id_session), now)
                .expect("serializable");
            signer.deserialize_at(name, &value, None, now)
        })
    });
    group.finish();

    let mut group = c.benchmark_group("private-cookie");
    group.throughput(Throughput::Bytes(json_len as u64));
    group.bench_function("seal_at", |b| {
        b.iter(|| sealer.serialize_at(name, black_box(&session), now))
    });
    group.bench_function("open_at", |b| {
        b.iter(|| sealer.deserialize_at(name, black_box(&sealed), None, now))
    });
    group.bench_function("seal_at+open_at", |b| {
        b.iter(|| {
            let value = sealer
                .serialize_at(name, black_box(&session), now)
                .expect("sealable");
            sealer.deserialize_at(name, &value, None, now)
        })
    });
    group.finish();
}

// `criterion_group!` would make a `pub fn`, which the crate's `missing_docs` lint flags.
fn main() {
    let mut criterion = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(50)
        .configure_from_args();
    codec(&mut criterion);
    criterion.final_summary();
}
