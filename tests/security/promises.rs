//! One test per security promise of the README's "Security" section.

use crate::common;

use std::collections::HashSet;
use std::sync::Arc;

use axum_session_store::backend::{MemoryBackend, Storage};
use axum_session_store::test_util::VerifyError;
use axum_session_store::{SessionConfig, SessionId};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use common::counting::Counting;
use common::{app, dumped, get_with_cookie, Client, Logs};
use serde_json::json;
use time::OffsetDateTime;

#[test]
fn ids_have_at_least_128_bits_and_do_not_repeat() {
    let mut seen = HashSet::new();
    for _ in 0..100_000 {
        let id = SessionId::generate().unwrap();
        let bytes = URL_SAFE_NO_PAD.decode(id.as_str()).unwrap();
        assert!(bytes.len() * 8 >= 128, "{} bits", bytes.len() * 8);
        assert!(seen.insert(id.as_str().to_owned()), "duplicate id");
    }
}

#[tokio::test]
async fn ids_of_the_wrong_shape_never_reach_a_backend() {
    let (counting, calls) = Counting::new(Arc::new(MemoryBackend::new()));
    let config = SessionConfig::builder()
        .secret_key(common::SECRET)
        .default_backend(Storage::with_user_index(counting))
        .build()
        .unwrap();
    let router = app::layered(config.clone());
    let valid = SessionId::generate().unwrap();
    let too_long = format!("{}A", valid.as_str());
    let bad_shapes = [
        json!(""),
        json!(&valid.as_str()[1..]),
        json!(too_long),
        json!("../../../../etc/passwd"),
        json!("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA*"),
        json!("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="),
        json!("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\u{e9}"),
        json!("session:*"),
        json!(null),
        json!(7),
        json!(["AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"]),
    ];
    let now = OffsetDateTime::now_utc();
    for sid in bad_shapes {
        let value = config
            .id_serializer()
            .serialize_at("session", &json!({ "_sid": sid }), now)
            .unwrap();
        let reply = get_with_cookie(&router, "/dump", &format!("session={value}")).await;
        assert_eq!(dumped(&reply)["is_new"], true, "{sid}");
    }
    assert_eq!(calls.snapshot(), (0, 0, 0, 0), "not one backend call");
}

#[tokio::test]
async fn default_cookies_are_http_only_secure_same_site_lax_path_root_and_host_only() {
    for (backend, storage) in common::storages() {
        let config = common::config_on(storage);
        let reply = Client::new(app::layered(config)).get("/set?a=1").await;
        let header = reply.set_cookie_header("session").unwrap();
        let attributes: Vec<&str> = header.split("; ").skip(1).collect();
        for expected in ["HttpOnly", "Secure", "SameSite=Lax", "Path=/"] {
            assert!(
                attributes.contains(&expected),
                "{backend}: {header} lacks {expected}"
            );
        }
        assert!(!header.contains("Domain"), "{backend}: {header}");
    }
}

#[test]
fn nothing_is_deserialized_before_it_is_authenticated() {
    let config = common::config();
    let now = OffsetDateTime::now_utc();
    // A payload that is not even JSON, under a signature that does not match: the answer is
    // about the signature, so the payload was never parsed.
    let forged = format!(
        "{}|{}|{}",
        URL_SAFE_NO_PAD.encode("{{{{not json"),
        now.unix_timestamp(),
        "A".repeat(43)
    );
    assert_eq!(
        config
            .serializer()
            .deserialize_at("session", &forged, None, now),
        Err(VerifyError::BadSignature)
    );
    // The same for a sealed value: random bytes fail authentication, not parsing.
    let junk = URL_SAFE_NO_PAD.encode([0u8; 80]);
    assert_eq!(
        config
            .private_serializer()
            .deserialize_at("session", &junk, None, now),
        Err(VerifyError::BadSignature)
    );
}

/// A value nested `depth` arrays deep: serde_json writes any depth, but reads at most 128.
struct Nested(usize);

impl serde::Serialize for Nested {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeSeq;
        if self.0 == 0 {
            return serializer.serialize_u8(1);
        }
        let mut seq = serializer.serialize_seq(Some(1))?;
        seq.serialize_element(&Nested(self.0 - 1))?;
        seq.end()
    }
}

#[tokio::test]
async fn json_nested_deeper_than_serde_json_allows_is_refused_without_a_crash() {
    let config = common::config();
    let now = OffsetDateTime::now_utc();
    let deep = std::collections::BTreeMap::from([("a", Nested(1000))]);
    // Validly signed, so only the JSON parser can refuse it.
    let signed = config
        .serializer()
        .serialize_at("session", &deep, now)
        .unwrap();
    assert_eq!(
        config
            .serializer()
            .deserialize_at("session", &signed, None, now),
        Err(VerifyError::BadPayload)
    );
    let sealed = config
        .private_serializer()
        .serialize_at("session", &deep, now)
        .unwrap();
    assert_eq!(
        config
            .private_serializer()
            .deserialize_at("session", &sealed, None, now),
        Err(VerifyError::BadPayload)
    );
    let reply = get_with_cookie(&app::router(config), "/dump", &format!("session={signed}")).await;
    assert_eq!(
        (reply.status.as_u16(), dumped(&reply)["is_new"].clone()),
        (200, json!(true))
    );
}

#[tokio::test]
async fn logs_never_carry_a_session_id_or_data() {
    let (logs, _guard) = Logs::capture();
    let backend = MemoryBackend::new();
    let config = SessionConfig::builder()
        .secret_key(common::SECRET)
        .default_backend(backend.clone())
        .build()
        .unwrap();
    let router = app::layered(config.clone());
    let mut client = Client::new(router.clone());
    client.get("/set?secret_value=hunter2").await;
    let cookie = client.cookie("session");
    let sid = common::session_id_in(&config, "session", &cookie).unwrap();
    client.get("/regenerate").await;
    client.get("/dump").await;
    client.get("/invalidate").await;
    // Replays, forgeries and unknown ids: every path that logs.
    get_with_cookie(&router, "/dump", &format!("session={cookie}")).await;
    get_with_cookie(&router, "/dump", &format!("session={}x", cookie)).await;
    let unknown = config
        .id_serializer()
        .serialize("session", &json!({"_sid": "B".repeat(32)}))
        .unwrap();
    get_with_cookie(&router, "/dump", &format!("session={unknown}")).await;

    let text = logs.text();
    assert!(!text.is_empty(), "the paths above do log");
    for secret in [
        sid.as_str(),
        "hunter2",
        "secret_value",
        &"B".repeat(32),
        cookie.as_str(),
    ] {
        assert!(!text.contains(secret), "logs carry {secret:?}:\n{text}");
    }
}

/// A `Cookie` header of 40,000 distinct empty cookies (about 240 KB; hyper accepts up to
/// ~400 KB of headers) costs no more than its size: the session cookie in front of them is
/// read, and the answer comes at once. Parsing used to compare every pair with every earlier
/// one (22 s in a debug build here); the bound below is a liveness check, far above the
/// milliseconds it takes.
#[tokio::test]
async fn a_header_of_40000_cookies_is_answered_at_once() {
    let config = common::config();
    let router = app::router(config.clone());
    let cookie = config
        .serializer()
        .serialize("session", &json!({"user": "ada"}))
        .unwrap();
    let mut header = format!("session={cookie}");
    for i in 0..40_000 {
        header.push_str(&format!("; c{i:x}="));
    }
    let started = std::time::Instant::now();
    let reply = get_with_cookie(&router, "/dump", &header).await;
    let elapsed = started.elapsed();
    assert_eq!(reply.status, 200);
    assert_eq!(dumped(&reply)["values"], json!({"user": "ada"}));
    assert!(
        elapsed < std::time::Duration::from_secs(5),
        "took {elapsed:?}"
    );
}
