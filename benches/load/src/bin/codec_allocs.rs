//! Allocations per codec operation, counted by a counting global allocator.
//!
//! It runs the same operations on the same bytes as the criterion benchmark
//! `benches/load/benches/codec.rs` (both take them from this package's `fixture` module). A
//! binary of its own, because a global allocator counts for the whole process.

use std::hint::black_box;

use axum_session_store::SessionConfig;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use axum_session_store_load::counting::{Counting, Snapshot};
use axum_session_store_load::fixture;

#[global_allocator]
static GLOBAL: Counting = Counting;

const ITERATIONS: u64 = 1_000;

/// Runs `op` once to warm up (lazy statics), then `ITERATIONS` times, and prints the counts
/// per run.
fn count(label: &str, mut op: impl FnMut()) {
    op();
    let start = Snapshot::now();
    for _ in 0..ITERATIONS {
        op();
    }
    let counted = Snapshot::now().since(start);
    println!(
        "{label:<48} allocations per op: {:>5.1}  reallocations per op: {:>4.1}  bytes per op: {:>6.0}",
        counted.allocations as f64 / ITERATIONS as f64,
        counted.reallocations as f64 / ITERATIONS as f64,
        counted.bytes as f64 / ITERATIONS as f64,
    );
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let config = SessionConfig::builder()
        .secret_key(fixture::SECRET)
        .build()?;
    let signer = config.serializer();
    let sealer = config.private_serializer();
    let now = fixture::signed_at();
    let name = fixture::COOKIE_NAME;
    let session = fixture::session();
    let id_session = fixture::id_session();

    let cookie = signer.serialize_at(name, &session, now)?;
    let id_cookie = signer.serialize_at(name, &id_session, now)?;
    let sealed = sealer.serialize_at(name, &session, now)?;
    let json_len = serde_json::to_vec(&session)?.len();
    println!(
        "session JSON: {json_len} bytes; signed cookie value: {} bytes; signed id cookie value: {} \
         bytes; sealed cookie value: {} bytes",
        cookie.len(),
        id_cookie.len(),
        sealed.len()
    );

    // The bytes the signature covers: `name|payload|timestamp`.
    let signed_part = cookie.rsplit_once('|').map(|(s, _)| s).unwrap_or_default();
    let message = format!("{name}|{signed_part}");
    let keyed = Hmac::<Sha256>::new_from_slice(&[0x42; 32])?;
    let tag = keyed
        .clone()
        .chain_update(message.as_bytes())
        .finalize()
        .into_bytes();

    count("hmac-sha256 floor: sign (pre-keyed)", || {
        let mac = keyed.clone().chain_update(black_box(message.as_bytes()));
        black_box(mac.finalize().into_bytes());
    });
    count("hmac-sha256 floor: sign + verify (pre-keyed)", || {
        let mac = keyed.clone().chain_update(black_box(message.as_bytes()));
        black_box(mac.finalize().into_bytes());
        let mac = keyed.clone().chain_update(black_box(message.as_bytes()));
        black_box(mac.verify_slice(&tag).is_ok());
    });
    count("signed cookie: serialize_at", || {
        black_box(signer.serialize_at(name, black_box(&session), now).ok());
    });
    count("signed cookie: deserialize_at", || {
        black_box(
            signer
                .deserialize_at(name, black_box(&cookie), None, now)
                .ok(),
        );
    });
    count("signed cookie: serialize_at + deserialize_at", || {
        if let Ok(value) = signer.serialize_at(name, black_box(&session), now) {
            black_box(signer.deserialize_at(name, &value, None, now).ok());
        }
    });
    count("signed id cookie: serialize_at", || {
        black_box(signer.serialize_at(name, black_box(&id_session), now).ok());
    });
    count("signed id cookie: deserialize_at", || {
        black_box(
            signer
                .deserialize_at(name, black_box(&id_cookie), None, now)
                .ok(),
        );
    });
    count("signed id cookie: serialize_at + deserialize_at", || {
        if let Ok(value) = signer.serialize_at(name, black_box(&id_session), now) {
            black_box(signer.deserialize_at(name, &value, None, now).ok());
        }
    });
    count("private cookie: seal_at", || {
        black_box(sealer.serialize_at(name, black_box(&session), now).ok());
    });
    count("private cookie: open_at", || {
        black_box(
            sealer
                .deserialize_at(name, black_box(&sealed), None, now)
                .ok(),
        );
    });
    count("private cookie: seal_at + open_at", || {
        if let Ok(value) = sealer.serialize_at(name, black_box(&session), now) {
            black_box(sealer.deserialize_at(name, &value, None, now).ok());
        }
    });
    Ok(())
}
