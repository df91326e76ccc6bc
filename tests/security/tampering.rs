//! A cookie that was changed, forged, moved, expired or oversized reads as a new, empty session:
//! never an error page, never a panic.

use crate::common;

use axum::Router;
use axum_session_store::SessionConfig;
use common::{accepted, app, dumped, get_with_cookie, Client};
use serde_json::json;
use time::{Duration, OffsetDateTime};

/// A valid cookie value for `{"user": "ada"}`.
async fn valid_cookie(router: &Router) -> String {
    let mut client = Client::new(router.clone());
    client.get("/set?user=ada").await.cookie("session").unwrap()
}

#[tokio::test]
async fn every_single_byte_change_is_rejected() {
    let router = app::router(common::config());
    let cookie = valid_cookie(&router).await;
    assert!(accepted(&router, cookie.as_bytes()).await);
    // Every byte a header value can carry: visible ASCII, space, and obs-text.
    let replacements: Vec<u8> = (0x20..=0x7e).chain(0x80..=0xff).collect();
    let mut tried = 0;
    for position in 0..cookie.len() {
        for &byte in &replacements {
            let mut changed = cookie.as_bytes().to_vec();
            if changed[position] == byte {
                continue;
            }
            changed[position] = byte;
            assert!(
                !accepted(&router, &changed).await,
                "byte {position} changed to {byte:#04x} was accepted"
            );
            tried += 1;
        }
    }
    assert!(tried > 10_000, "tried {tried} changes");
}

#[tokio::test]
async fn every_truncation_and_appended_byte_is_rejected() {
    let router = app::router(common::config());
    let cookie = valid_cookie(&router).await;
    for len in 0..cookie.len() {
        assert!(
            !accepted(&router, &cookie.as_bytes()[..len]).await,
            "truncated to {len}"
        );
    }
    // Every cookie-octet (RFC 6265): the bytes a cookie value itself can hold.
    let cookie_octets = (0x21..=0x7e).filter(|b| !b"\",;\\".contains(b));
    for byte in cookie_octets {
        let mut longer = cookie.as_bytes().to_vec();
        longer.push(byte);
        assert!(!accepted(&router, &longer).await, "appended {byte:#04x}");
    }
}

#[tokio::test]
async fn a_cookie_signed_with_another_key_is_rejected() {
    let other = SessionConfig::builder()
        .secret_key("another secret, thirty-two bytes")
        .build()
        .unwrap();
    let forged = valid_cookie(&app::router(other)).await;
    assert!(!accepted(&app::router(common::config()), forged.as_bytes()).await);
}

#[tokio::test]
async fn a_value_moved_to_another_cookie_name_is_rejected() {
    let router = app::router(common::config());
    let cookie = valid_cookie(&router).await;
    let reply = get_with_cookie(&router, "/dump-other", &format!("other={cookie}")).await;
    assert_eq!(dumped(&reply)["is_new"], true);
}

fn signed_at(config: &SessionConfig, at: OffsetDateTime) -> String {
    config
        .serializer()
        .serialize_at("session", &json!({"user": "ada"}), at)
        .unwrap()
}

#[tokio::test]
async fn expired_cookies_are_rejected_by_the_server() {
    let config = SessionConfig::builder()
        .secret_key(common::SECRET)
        .session_max_age(Duration::minutes(10))
        .build()
        .unwrap();
    let router = app::router(config.clone());
    let now = OffsetDateTime::now_utc();
    let fresh = signed_at(&config, now - Duration::minutes(9));
    let stale = signed_at(&config, now - Duration::minutes(11));
    assert!(accepted(&router, fresh.as_bytes()).await);
    assert!(!accepted(&router, stale.as_bytes()).await);
}

#[tokio::test]
async fn cookie_max_age_bounds_the_session_when_session_max_age_is_unset() {
    let config = SessionConfig::builder()
        .secret_key(common::SECRET)
        .cookie_args(
            axum_session_store::cookie::CookieArgs::default().max_age(Duration::minutes(10)),
        )
        .build()
        .unwrap();
    let router = app::router(config.clone());
    let stale = signed_at(&config, OffsetDateTime::now_utc() - Duration::minutes(11));
    assert!(!accepted(&router, stale.as_bytes()).await);
}

#[tokio::test]
async fn timestamps_from_the_future_are_rejected_beyond_clock_skew() {
    let config = common::config();
    let router = app::router(config.clone());
    let now = OffsetDateTime::now_utc();
    let skewed = signed_at(&config, now + Duration::seconds(30));
    let future = signed_at(&config, now + Duration::seconds(90));
    assert!(
        accepted(&router, skewed.as_bytes()).await,
        "30 s of skew is tolerated"
    );
    assert!(!accepted(&router, future.as_bytes()).await);
}

#[tokio::test]
async fn fallback_key_is_accepted_and_re_signed_with_the_primary() {
    let old_secret = "the secret we used until today!!";
    let old = SessionConfig::builder()
        .secret_key(old_secret)
        .build()
        .unwrap();
    let cookie = valid_cookie(&app::router(old)).await;

    let rotated = SessionConfig::builder()
        .secret_key(common::SECRET)
        .fallback_keys([old_secret])
        .build()
        .unwrap();
    let router = app::router(rotated);
    // The handler only reads and returns the guard: the re-signed cookie still goes out.
    let reply = get_with_cookie(&router, "/touch", &format!("session={cookie}")).await;
    assert_eq!(dumped(&reply)["values"], json!({"user": "ada"}));
    let resigned = reply.cookie("session").expect("re-signed cookie");
    assert_ne!(resigned, cookie);

    // The new value verifies with the primary key alone.
    let primary_only = app::router(common::config());
    assert!(accepted(&primary_only, resigned.as_bytes()).await);
    // And the old one does not, once the fallback is removed.
    assert!(!accepted(&primary_only, cookie.as_bytes()).await);

    // Verified by the primary key: nothing to re-sign.
    let again = get_with_cookie(&router, "/touch", &format!("session={resigned}")).await;
    assert!(again.set_cookies.is_empty());
}

#[tokio::test]
async fn oversize_incoming_cookie_is_rejected_before_decoding() {
    let config = common::config();
    let big = "x".repeat(5000);
    let value = config
        .serializer()
        .serialize_at("session", &json!({ "big": big }), OffsetDateTime::now_utc())
        .unwrap();
    assert!(value.len() > 4096);
    // Correctly signed, but over the limit: refused all the same.
    assert!(!accepted(&app::router(config), value.as_bytes()).await);
}

#[tokio::test]
async fn oversize_outgoing_cookie_is_a_500_with_no_cookie() {
    let router = app::router(common::config());
    let mut client = Client::new(router);
    let big = "x".repeat(4000);
    let reply = client.get(&format!("/set?big={big}")).await;
    assert_eq!(reply.status, 500);
    assert!(
        reply.set_cookies.is_empty(),
        "nothing half-saved: {:?}",
        reply.set_cookies
    );
    assert_eq!(reply.body, "Internal Server Error");
}

#[tokio::test]
async fn two_cookies_of_one_name_the_first_valid_one_wins() {
    let router = app::router(common::config());
    let mut a = Client::new(router.clone());
    let first = a.get("/set?who=first").await.cookie("session").unwrap();
    let mut b = Client::new(router.clone());
    let second = b.get("/set?who=second").await.cookie("session").unwrap();

    let both = format!("session={first}; session={second}");
    assert_eq!(
        dumped(&get_with_cookie(&router, "/dump", &both).await)["values"]["who"],
        "first"
    );
    let swapped = format!("session={second}; session={first}");
    assert_eq!(
        dumped(&get_with_cookie(&router, "/dump", &swapped).await)["values"]["who"],
        "second"
    );
    // A bad one before (a cookie of the same name for a longer path, tossed in from a sibling
    // domain, say) cannot log the user out: the valid one behind it is read.
    let bad_first = format!("session=garbage; session={second}");
    let dump = dumped(&get_with_cookie(&router, "/dump", &bad_first).await);
    assert_eq!(dump["is_new"], false);
    assert_eq!(dump["values"]["who"], "second");
    let only_bad = "session=garbage; session=more-garbage";
    assert_eq!(
        dumped(&get_with_cookie(&router, "/dump", only_bad).await)["is_new"],
        true
    );
}

#[tokio::test]
async fn garbage_of_every_shape_reads_as_a_new_session() {
    let router = app::router(common::config());
    let config = common::config();
    let serializer = config.serializer();
    let now = OffsetDateTime::now_utc();
    let array = serializer
        .serialize_at("session", &json!([1, 2]), now)
        .unwrap();
    let string = serializer
        .serialize_at("session", &json!("s"), now)
        .unwrap();
    for value in [
        "",
        "|",
        "||",
        "|||",
        "a|b|c",
        "a|1|b",
        "e30|1|",
        "e30||sig",
        "e30|-1|x",
        "e30|+1|x",
        "e30|99999999999999999999|x",
        "%00",
        "\"\"",
        &array,
        &string,
    ] {
        assert!(
            !accepted(&router, value.as_bytes()).await,
            "{value:?} was accepted"
        );
    }
}
