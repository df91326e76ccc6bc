//! The encrypted cookie backend, `privatecookie`: the client can neither read nor change it.

use crate::common;

use axum_session_store::backend::Storage;
use axum_session_store::SessionConfig;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use common::{accepted, app, dumped, get_with_cookie, Client};
use serde_json::json;

fn config_with(secret: &str, fallbacks: &[&str]) -> SessionConfig {
    SessionConfig::builder()
        .secret_key(secret)
        .fallback_keys(fallbacks.iter().copied())
        .default_backend(Storage::private_cookie())
        .build()
        .unwrap()
}

const SECRET: &str = "private cookie secret, 32 bytes!";

#[tokio::test]
async fn round_trips_and_hides_its_contents() {
    let mut client = Client::new(app::router(config_with(SECRET, &[])));
    let first = client
        .get("/set?password=hunter2")
        .await
        .cookie("session")
        .unwrap();
    let second = client
        .get("/set?password=hunter2")
        .await
        .cookie("session")
        .unwrap();
    assert_ne!(first, second, "a fresh nonce per seal");
    for value in [&first, &second] {
        let raw = URL_SAFE_NO_PAD.decode(value).unwrap();
        assert!(
            !raw.windows(7).any(|w| w == b"hunter2"),
            "plaintext visible"
        );
        assert!(!value.contains("hunter2") && !value.contains('|'));
    }
    assert_eq!(
        dumped(&client.get("/dump").await)["values"],
        json!({"password": "hunter2"})
    );
}

#[tokio::test]
async fn every_single_byte_change_truncation_and_extension_is_rejected() {
    let router = app::router(config_with(SECRET, &[]));
    let cookie = Client::new(router.clone())
        .get("/set?a=1")
        .await
        .cookie("session")
        .unwrap();
    assert!(accepted(&router, cookie.as_bytes()).await);
    let replacements: Vec<u8> = (0x21..=0x7e).filter(|b| !b";,\"\\".contains(b)).collect();
    for position in 0..cookie.len() {
        for &byte in &replacements {
            let mut changed = cookie.as_bytes().to_vec();
            if changed[position] == byte {
                continue;
            }
            changed[position] = byte;
            assert!(
                !accepted(&router, &changed).await,
                "byte {position} -> {byte:#04x}"
            );
        }
    }
    for len in 0..cookie.len() {
        assert!(
            !accepted(&router, &cookie.as_bytes()[..len]).await,
            "truncated to {len}"
        );
    }
    for byte in [b'A', b'-', b'_', b'0'] {
        let mut longer = cookie.as_bytes().to_vec();
        longer.push(byte);
        assert!(!accepted(&router, &longer).await);
    }
}

#[tokio::test]
async fn a_value_moved_to_another_cookie_or_backend_is_rejected() {
    let config = config_with(SECRET, &[]);
    let router = app::router(config.clone());
    let sealed = Client::new(router.clone())
        .get("/set?a=1")
        .await
        .cookie("session")
        .unwrap();
    // The cookie name is the associated data: moved, it does not open.
    assert!(config
        .private_serializer()
        .deserialize("other", &sealed, None)
        .is_err());
    // A signed value (same secret) is not a sealed one, and the other way round.
    let signed = config
        .serializer()
        .serialize("session", &json!({"a": 1}))
        .unwrap();
    assert!(!accepted(&router, signed.as_bytes()).await);
    assert!(config
        .serializer()
        .deserialize("session", &sealed, None)
        .is_err());
}

#[tokio::test]
async fn keys_rotate_like_signed_cookies() {
    let old_secret = "the old private secret, 32 bytes";
    let old = Client::new(app::router(config_with(old_secret, &[])))
        .get("/set?a=1")
        .await
        .cookie("session")
        .unwrap();
    let rotated = app::router(config_with(SECRET, &[old_secret]));
    let reply = get_with_cookie(&rotated, "/touch", &format!("session={old}")).await;
    assert_eq!(dumped(&reply)["values"], json!({"a": 1}));
    let resealed = reply
        .cookie("session")
        .expect("re-sealed with the primary key");
    let primary_only = app::router(config_with(SECRET, &[]));
    assert!(accepted(&primary_only, resealed.as_bytes()).await);
    assert!(!accepted(&primary_only, old.as_bytes()).await);
}

/// The length limit of the sealed codec, tested directly (the property tests' values never
/// reach it): a value over `MAX_COOKIE_VALUE_LEN` is refused before it is decoded, one at the
/// limit is decoded (and here fails authentication), and a session whose sealed cookie would
/// exceed the limit is refused at save with the size, never sent.
#[tokio::test]
async fn the_sealed_length_limit() {
    use axum_session_store::cookie::MAX_COOKIE_VALUE_LEN;
    use axum_session_store::test_util::VerifyError;
    let config = config_with(SECRET, &[]);
    let sealer = config.private_serializer();
    let now = time::OffsetDateTime::now_utc();
    let over = "A".repeat(MAX_COOKIE_VALUE_LEN + 1);
    assert_eq!(
        sealer.deserialize_at("session", &over, None, now),
        Err(VerifyError::TooLong {
            len: MAX_COOKIE_VALUE_LEN + 1
        })
    );
    let at_limit = "A".repeat(MAX_COOKIE_VALUE_LEN);
    assert_eq!(
        sealer.deserialize_at("session", &at_limit, None, now),
        Err(VerifyError::BadSignature)
    );

    let (logs, _guard) = common::Logs::capture();
    let mut client = Client::new(app::router(config.clone()));
    let reply = client.get(&format!("/set?big={}", "x".repeat(3000))).await;
    assert_eq!(reply.status, 500);
    assert!(reply.set_cookies.is_empty());
    assert!(
        logs.text().contains("over the 4096-byte limit"),
        "{}",
        logs.text()
    );
    // Just under the limit still saves, and reads back.
    let reply = client.get(&format!("/set?big={}", "x".repeat(2900))).await;
    assert_eq!(reply.status, 200);
    assert!(reply.set_cookie_header("session").unwrap().len() <= MAX_COOKIE_VALUE_LEN);
    assert_eq!(
        dumped(&client.get("/dump").await)["values"]["big"]
            .as_str()
            .map(str::len),
        Some(2900)
    );
}
