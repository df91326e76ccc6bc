//! Users of the app this one replaces stay signed in: a webapp2, Flask or Django session cookie
//! (written by the real frameworks: `tests/data/legacy_vectors.json`) is read once and
//! re-issued in this crate's format, over HTTP, for cookie and server-side sessions.

use crate::common;

use axum::Router;
use axum_session_store::backend::{MemoryBackend, Storage};
use axum_session_store::cookie::LegacyCookie;
use axum_session_store::{DefaultSession, SessionConfig};
use common::{app, dumped, get_with_cookie, Client, Logs};
use serde_json::{json, Value};
use time::Duration;

const VECTORS: &str = include_str!("../data/legacy_vectors.json");
const SECRET: &str = "legacy test secret, 32 bytes long!";

/// The vectors were signed on 2025-12-06: an age limit of decades keeps them readable here (the
/// age limits themselves are tested at fixed instants in the crate's unit tests).
const DECADES: Duration = Duration::days(365 * 50);

fn case(name: &str) -> Value {
    let vectors: Value = serde_json::from_str(VECTORS).unwrap();
    vectors["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|case| case["name"] == name)
        .unwrap_or_else(|| panic!("no case {name:?}"))
        .clone()
}

fn legacy(case: &Value) -> LegacyCookie {
    let secret = case["secret"].as_str().unwrap();
    let cookie = match case["format"].as_str().unwrap() {
        "webapp2" => LegacyCookie::webapp2(secret),
        "flask" => LegacyCookie::flask(secret),
        "django" => LegacyCookie::django(secret),
        other => panic!("unknown format {other}"),
    };
    let fallbacks = case["fallback_secrets"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    cookie
        .cookie_name(case["cookie_name"].as_str().unwrap())
        .max_age(DECADES)
        .fallback_secrets(fallbacks.iter().filter_map(Value::as_str))
}

fn config(case: &Value, storage: Storage) -> SessionConfig {
    SessionConfig::builder()
        .secret_key(SECRET)
        .default_backend(storage)
        .legacy_cookie::<DefaultSession>(legacy(case))
        .build()
        .unwrap()
}

/// Both keepers: the signed cookie (no layer) and a memory backend (behind the layer).
fn routers(case: &Value) -> [(&'static str, Router); 2] {
    [
        (
            "signed cookie",
            app::router(config(case, Storage::signed_cookie())),
        ),
        (
            "memory",
            app::layered(config(case, MemoryBackend::new().into())),
        ),
    ]
}

/// The `Cookie` header a browser of the old app sends.
fn old_cookie(case: &Value) -> String {
    format!(
        "{}={}",
        case["cookie_name"].as_str().unwrap(),
        case["value"].as_str().unwrap()
    )
}

#[tokio::test]
async fn each_format_is_upgraded_on_the_first_visit_and_stays() {
    for name in [
        "webapp2 session with flashes",
        "webapp2 value quoted by old WebOb",
        "flask session with flashes",
        "flask tagged values, permanent",
        "flask compressed",
        "flask signed with a fallback secret",
        "django session",
        "django compressed, _session_expiry dropped",
        "django signed with a fallback secret",
    ] {
        let case = case(name);
        let old_name = case["cookie_name"].as_str().unwrap();
        for (keeper, router) in routers(&case) {
            let first = get_with_cookie(&router, "/touch", &old_cookie(&case)).await;
            assert_eq!(first.status, 200, "{name} ({keeper})");
            let body = dumped(&first);
            assert_eq!(body["values"], case["expected"], "{name} ({keeper})");
            assert_eq!(
                body["is_new"], true,
                "{name} ({keeper}): a session of this crate starts"
            );
            let ours = first
                .cookie("session")
                .unwrap_or_else(|| panic!("{name} ({keeper}): not re-issued: {first:?}"));
            assert!(!ours.is_empty());
            let removed = first.set_cookie_header(old_name).is_some_and(|header| {
                header.starts_with(&format!("{old_name}=;")) && header.contains("Max-Age=0")
            });
            assert_eq!(
                removed,
                old_name != "session",
                "{name} ({keeper}): the old cookie goes when its name differs: {first:?}"
            );
            // The browser now holds only this crate's cookie, and it carries the same session.
            let second = get_with_cookie(&router, "/dump", &format!("session={ours}")).await;
            let body = dumped(&second);
            assert_eq!(body["values"], case["expected"], "{name} ({keeper}), again");
            assert_eq!(body["is_new"], false, "{name} ({keeper})");
        }
    }
}

#[tokio::test]
async fn flask_flashes_are_shown_once_with_their_category() {
    let case = case("flask session with flashes");
    for (keeper, router) in routers(&case) {
        let mut client = Client::new(router);
        client
            .jar
            .insert("session", case["value"].as_str().unwrap());
        let shown = client.get("/flash/take").await;
        assert_eq!(
            serde_json::from_str::<Value>(&shown.body).unwrap(),
            json!([
                {"message": "Welcome back", "level": "success"},
                {"message": "Plain", "level": "message"}
            ]),
            "{keeper}"
        );
        let again = client.get("/flash/take").await;
        assert_eq!(again.body, "[]", "{keeper}: taken once");
        assert_eq!(
            dumped(&client.get("/dump").await)["values"]["user_id"],
            42,
            "{keeper}"
        );
    }
}

#[tokio::test]
async fn logging_out_never_brings_the_old_session_back() {
    let case = case("django session");
    for (keeper, router) in routers(&case) {
        // Upgraded, then logged out.
        let mut client = Client::new(router.clone());
        client
            .jar
            .insert("sessionid", case["value"].as_str().unwrap());
        client.get("/touch").await;
        assert!(
            client.jar.get("sessionid").is_none(),
            "{keeper}: the old cookie is gone"
        );
        client.get("/invalidate").await;
        let after = dumped(&client.get("/dump").await);
        assert_eq!(
            after["values"],
            json!({}),
            "{keeper}: logged out stays logged out"
        );

        // Logged out on the very first request: the old cookie goes with the session.
        let mut client = Client::new(router);
        client
            .jar
            .insert("sessionid", case["value"].as_str().unwrap());
        let reply = client.get("/invalidate").await;
        assert!(
            reply.set_cookie_header("sessionid").is_some(),
            "{keeper}: {reply:?}"
        );
        assert!(client.jar.get("sessionid").is_none(), "{keeper}");
        let after = dumped(&client.get("/dump").await);
        assert_eq!(after["values"], json!({}), "{keeper}: not read again");
    }
}

#[tokio::test]
async fn a_valid_cookie_of_this_crate_wins_over_an_old_one() {
    let case = case("django session");
    for (keeper, router) in routers(&case) {
        let mut client = Client::new(router.clone());
        client.get("/set?mine=yes").await;
        let both = format!(
            "session={}; {}",
            client.cookie("session"),
            old_cookie(&case)
        );
        let reply = get_with_cookie(&router, "/touch", &both).await;
        assert_eq!(dumped(&reply)["values"], json!({"mine": "yes"}), "{keeper}");
        // ... and the old one, left beside it, goes.
        assert!(
            reply
                .set_cookie_header("sessionid")
                .is_some_and(|h| h.contains("Max-Age=0")),
            "{keeper}: {reply:?}"
        );
    }
}

#[tokio::test]
async fn a_refused_old_cookie_is_a_new_session_never_an_error() {
    for name in [
        "webapp2 signed for another cookie name",
        "webapp2 another secret",
        "flask another secret",
        "flask compressed past the bound",
        "django another secret",
        "django compressed past the bound",
    ] {
        let case = case(name);
        for (keeper, router) in routers(&case) {
            let reply = get_with_cookie(&router, "/touch", &old_cookie(&case)).await;
            assert_eq!(reply.status, 200, "{name} ({keeper})");
            assert_eq!(dumped(&reply)["values"], json!({}), "{name} ({keeper})");
            assert!(reply.set_cookies.is_empty(), "{name} ({keeper}): {reply:?}");
        }
    }
}

#[tokio::test]
async fn an_old_cookie_under_another_name_is_not_read() {
    // Flask's cookie is `session`; one configured under `flask_session` reads nothing else.
    let case = case("flask session with flashes");
    let config = SessionConfig::builder()
        .secret_key(SECRET)
        .legacy_cookie::<DefaultSession>(legacy(&case).cookie_name("flask_session"))
        .build()
        .unwrap();
    let router = app::router(config);
    let reply = get_with_cookie(&router, "/touch", &old_cookie(&case)).await;
    assert_eq!(reply.status, 200);
    assert_eq!(dumped(&reply)["values"], json!({}));
    let renamed = format!("flask_session={}", case["value"].as_str().unwrap());
    let reply = get_with_cookie(&router, "/touch", &renamed).await;
    assert_eq!(dumped(&reply)["values"], case["expected"]);
}

#[tokio::test]
async fn what_a_cookie_cannot_hold_stays_unread_but_a_record_takes_it() {
    // 20 KB of values: a record holds them, a cookie of this crate cannot.
    let case = case("django large, within the bound");
    let (logs, _guard) = Logs::capture();
    let [(_, cookie), (_, memory)] = routers(&case);
    let reply = get_with_cookie(&cookie, "/touch", &old_cookie(&case)).await;
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(dumped(&reply)["values"], json!({}));
    assert_eq!(logs.lines_with("WARN").len(), 1, "{}", logs.text());
    let reply = get_with_cookie(&memory, "/touch", &old_cookie(&case)).await;
    assert_eq!(reply.status, 200);
    assert_eq!(dumped(&reply)["values"], case["expected"]);
    assert!(reply.cookie("session").is_some());
}

#[tokio::test]
async fn a_leftover_old_cookie_is_removed_and_never_signs_anyone_back_in() {
    let case = case("django session");
    for (keeper, router) in routers(&case) {
        let mut client = Client::new(router);
        client.get("/set?mine=yes").await;
        // The old cookie is still there (its deletion missed, or the browser sends both).
        client
            .jar
            .insert("sessionid", case["value"].as_str().unwrap());
        let reply = client.get("/touch").await;
        assert_eq!(dumped(&reply)["values"], json!({"mine": "yes"}), "{keeper}");
        assert!(
            reply
                .set_cookie_header("sessionid")
                .is_some_and(|h| h.contains("Max-Age=0")),
            "{keeper}: the leftover goes: {reply:?}"
        );
        assert!(client.jar.get("sessionid").is_none(), "{keeper}");
        client.get("/invalidate").await;
        let after = dumped(&client.get("/touch").await);
        assert_eq!(
            after["values"],
            json!({}),
            "{keeper}: logged out stays logged out"
        );
    }
}

#[tokio::test]
async fn an_old_cookie_is_removed_with_the_path_and_domain_it_was_set_with() {
    let case = case("django session");
    let config = SessionConfig::builder()
        .secret_key(SECRET)
        .legacy_cookie::<DefaultSession>(
            legacy(&case)
                .cookie_path("/app")
                .cookie_domain("example.com"),
        )
        .build()
        .unwrap();
    let reply = get_with_cookie(&app::router(config), "/touch", &old_cookie(&case)).await;
    assert_eq!(dumped(&reply)["values"], case["expected"]);
    let removal = reply.set_cookie_header("sessionid").unwrap();
    for part in [
        "sessionid=;",
        "Path=/app",
        "Domain=example.com",
        "Max-Age=0",
    ] {
        assert!(removal.contains(part), "{removal} lacks {part}");
    }
    let bad = SessionConfig::builder()
        .secret_key(SECRET)
        .legacy_cookie::<DefaultSession>(legacy(&case).cookie_path("/a;b"))
        .build();
    assert!(bad.is_err());
}

#[tokio::test]
async fn a_refused_old_cookie_is_logged_with_its_own_reason() {
    let case = case("flask another secret");
    let (logs, _guard) = Logs::capture();
    let [(_, router), _] = routers(&case);
    let reply = get_with_cookie(&router, "/touch", &old_cookie(&case)).await;
    assert_eq!(reply.status, 200);
    let warnings = logs.lines_with("WARN").join("\n");
    assert!(warnings.contains("failed authentication"), "{warnings}");
    assert!(!warnings.contains("not of the form"), "{warnings}");
}

#[tokio::test]
async fn an_old_cookie_of_the_same_name_on_another_path_is_removed_not_read_again() {
    // Flask's `session` set for `/app`, this crate's `session` for `/`: the browser keeps both
    // and sends the old one first (the longer path), so it must go, not shadow the new one.
    let case = case("flask session with flashes");
    let removes_old = |reply: &common::Reply| {
        reply.set_cookies.iter().any(|header| {
            header.starts_with("session=;")
                && header.contains("Path=/app")
                && header.contains("Max-Age=0")
        })
    };
    let storages: [(&str, Storage); 2] = [
        ("signed cookie", Storage::signed_cookie()),
        ("memory", MemoryBackend::new().into()),
    ];
    for (keeper, storage) in storages {
        let config = SessionConfig::builder()
            .secret_key(SECRET)
            .default_backend(storage)
            .legacy_cookie::<DefaultSession>(legacy(&case).cookie_path("/app"))
            .build()
            .unwrap();
        let router = app::layered(config);
        let first = get_with_cookie(&router, "/touch", &old_cookie(&case)).await;
        assert_eq!(dumped(&first)["values"], case["expected"], "{keeper}");
        assert!(removes_old(&first), "{keeper}: {first:?}");
        let ours = first
            .set_cookies
            .iter()
            .find(|h| h.starts_with("session=") && !h.starts_with("session=;"))
            .and_then(|h| h.split(';').next())
            .unwrap_or_else(|| panic!("{keeper}: not re-issued: {first:?}"))
            .to_owned();

        // The removal missed: the browser sends both, the old one first.
        let both = format!("{}; {ours}", old_cookie(&case));
        let reply = get_with_cookie(&router, "/set?mine=yes", &both).await;
        assert!(
            removes_old(&reply),
            "{keeper}: the leftover goes: {reply:?}"
        );
        let ours = reply
            .cookie("session")
            .map_or(ours, |v| format!("session={v}"));
        let both = format!("{}; {ours}", old_cookie(&case));
        let reply = get_with_cookie(&router, "/touch", &both).await;
        let body = dumped(&reply);
        assert_eq!(
            body["is_new"], false,
            "{keeper}: this crate's cookie is read"
        );
        assert_eq!(body["values"]["mine"], "yes", "{keeper}");

        // Logged out with both cookies sent: the old one never signs anyone back in.
        let both = format!("{}; {ours}", old_cookie(&case));
        let reply = get_with_cookie(&router, "/invalidate", &both).await;
        assert!(removes_old(&reply), "{keeper}: {reply:?}");
    }
}
