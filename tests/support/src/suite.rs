//! One suite of session behaviour, written once and run against every server-side backend by
//! [`backend_suite!`]: each backend's test file gives an async function that returns a
//! `Fixture` (or `None` when its server is unreachable and tests may skip).

use crate::UserIds;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration as StdDuration;

use axum::http::Request;
use axum::response::{IntoResponse, Redirect};
use axum::routing::get;
use axum::Router;
use axum_session_store::backend::{Changes, Regenerated};
use axum_session_store::csrf::{CsrfLayer, CsrfToken};
use axum_session_store::{Session, SessionConfig, SessionError, SessionId, SessionName};
use serde_json::json;
use time::Duration;

pub use super::suite_devices::{
    a_devices_page_shows_each_browser_and_logs_one_out,
    last_seen_is_written_at_most_once_per_interval,
};
pub use super::suite_events::lifecycle_events_follow_each_durable_change;

use super::counting::{Calls, Counting};
use super::servers::Fixture;
use super::shared::storage;
use super::{app, dumped, get_with_cookie, Client};
use axum_session_store::backend::{Batching, UserIndex};
use axum_session_store::SessionBackend;

/// A config whose default session lives in the backend under test (wrapped to count calls).
pub fn config_for(fixture: &Fixture) -> (SessionConfig, Arc<Calls>) {
    config_with(fixture, |b| b)
}

pub fn config_with(
    fixture: &Fixture,
    tweak: impl FnOnce(
        axum_session_store::SessionConfigBuilder,
    ) -> axum_session_store::SessionConfigBuilder,
) -> (SessionConfig, Arc<Calls>) {
    let (counting, calls) = Counting::new(fixture.backend.clone());
    let storage = match fixture.sealed {
        true => storage(counting).sealed(),
        false => storage(counting),
    };
    let builder = SessionConfig::builder()
        .secret_key(super::SECRET)
        .default_backend(storage);
    (tweak(builder).build().unwrap(), calls)
}

/// Calls `$then!` with `$args` followed by the name of every suite function.
#[macro_export]
macro_rules! suite_cases {
    ($then:ident!($($args:tt)*)) => {
        $crate::$then!($($args)*
            set_get_across_requests,
            flashes_over_four_requests,
            a_bot_replaying_a_flashing_request_costs_no_record,
            remove_and_clear,
            an_emptied_session_deletes_its_cookie_and_record,
            a_session_of_its_own_lifetime_outlives_the_configured_one,
            typed_and_unicode_values,
            new_unmodified_session_writes_nothing,
            unmodified_loaded_session_is_not_saved,
            a_change_under_the_same_id_sends_no_cookie,
            hundred_parallel_requests_keep_every_key,
            expired_record_never_loads,
            regenerate_id_moves_the_data_and_kills_the_old_id,
            regenerate_never_undoes_a_logout_that_ran_meanwhile,
            regenerate_keeps_a_change_acknowledged_meanwhile,
            double_submitted_logins_end_logged_in_without_a_5xx,
            a_form_posted_after_its_session_moved_is_a_conflict,
            anonymous_visitors_shown_a_form_cost_no_record,
            invalidate_deletes_the_record,
            forged_unknown_and_malformed_ids_get_fresh_sessions_without_writes,
            cookie_and_server_sessions_side_by_side,
            a_users_other_sessions_are_listed_and_revoked,
            one_user_cannot_list_or_revoke_anothers_session,
            a_user_follows_the_session_through_moves_and_changes,
            revoking_while_sessions_move_leaves_none_behind,
            a_devices_page_shows_each_browser_and_logs_one_out,
            last_seen_is_written_at_most_once_per_interval,
            lifecycle_events_follow_each_durable_change,
            passes_the_published_backend_suite,
        );
    };
}

/// The suite functions about a user's sessions, which a backend without them skips.
pub const USER_CASES: [&str; 7] = [
    "lifecycle_events_follow_each_durable_change",
    "a_devices_page_shows_each_browser_and_logs_one_out",
    "last_seen_is_written_at_most_once_per_interval",
    "a_users_other_sessions_are_listed_and_revoked",
    "one_user_cannot_list_or_revoke_anothers_session",
    "a_user_follows_the_session_through_moves_and_changes",
    "revoking_while_sessions_move_leaves_none_behind",
];

/// Runs each suite function as a test, with the fixture from `$fixture` (an async function
/// returning `Option<Fixture>`).
#[macro_export]
macro_rules! backend_suite {
    ($fixture:path) => {
        $crate::suite_cases!(backend_suite!(@tests $fixture;));
    };
    (@tests $fixture:path; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $case() {
                let Some(fixture) = $fixture().await else { return };
                $crate::suite::$case(&fixture).await;
            }
        )*
    };
}

/// Runs every suite function, one after the other, in the one test `$name`, on one fixture
/// from `$fixture`: for a fixture too costly to make per test (servers of its own). With
/// `without_users`, the functions about a user's sessions are left out.
#[macro_export]
macro_rules! backend_suite_in_one_test {
    ($name:ident, $fixture:path, without_users) => {
        $crate::suite_cases!(backend_suite_in_one_test!(@test $name, $fixture, true;));
    };
    ($name:ident, $fixture:path) => {
        $crate::suite_cases!(backend_suite_in_one_test!(@test $name, $fixture, false;));
    };
    (@test $name:ident, $fixture:path, $without_users:expr; $($case:ident),* $(,)?) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn $name() {
            let Some(fixture) = $fixture().await else { return };
            $(
                let case = stringify!($case);
                if !($without_users && $crate::suite::USER_CASES.contains(&case)) {
                    $crate::suite::$case(&fixture).await;
                }
            )*
        }
    };
}

pub async fn set_get_across_requests(fixture: &Fixture) {
    let (config, _) = config_for(fixture);
    let mut client = Client::new(app::layered(config));
    let first = client.get("/set?a=b&c=d").await;
    assert_eq!(first.status, 200);
    assert!(first.cookie("session").is_some());
    client.get("/set?e=f").await;
    let third = dumped(&client.get("/dump").await);
    assert_eq!(third["is_new"], false);
    assert_eq!(third["values"], json!({"a": "b", "c": "d", "e": "f"}));
}

/// Flash messages over four requests: a visitor's (no record) stay in its cookie, and cost no
/// write; a session with a record keeps them in it.
pub async fn flashes_over_four_requests(fixture: &Fixture) {
    let (config, calls) = config_for(fixture);
    let router = app::layered(config);
    let mut client = Client::new(router.clone());
    assert_eq!(client.get("/flash/take").await.body, "[]");
    client.get("/flash/add?msg=foo").await;
    assert_eq!(
        client.get("/flash/take").await.body,
        r#"[{"message":"foo","level":null}]"#
    );
    assert_eq!(client.get("/flash/take").await.body, "[]");
    client.get("/flash/add?msg=bar").await;
    client.get("/flash/add?msg=baz&level=important").await;
    assert_eq!(
        client.get("/flash/take").await.body,
        r#"[{"message":"bar","level":null},{"message":"baz","level":"important"}]"#
    );
    assert_eq!(client.get("/flash/take").await.body, "[]");
    assert_eq!(calls.writes(), 0, "a visitor's flashes write nothing");
    assert!(client.jar.is_empty(), "taken, they leave no cookie");

    let mut member = Client::new(router);
    member.get("/set?a=1").await;
    member.get("/flash/add?msg=hi").await;
    assert_eq!(
        member.get("/flash/take").await.body,
        r#"[{"message":"hi","level":null}]"#
    );
    assert_eq!(
        dumped(&member.get("/dump").await)["values"],
        json!({"a": 1})
    );
    assert_eq!(
        calls.writes(),
        3,
        "a record keeps them: create, flash, take"
    );
}

/// A bot replaying a flash-and-redirect request without cookies (a form refused, a message
/// flashed): 200 replays write nothing on the server, and each answer's cookie carries its
/// message to the next page.
pub async fn a_bot_replaying_a_flashing_request_costs_no_record(fixture: &Fixture) {
    let (config, calls) = config_for(fixture);
    let router = app::layered(config);
    for _ in 0..200 {
        let reply = Client::new(router.clone()).get("/flash/add?msg=bad").await;
        assert_eq!(reply.status, 200, "{reply:?}");
        assert!(reply.cookie("session").is_some(), "{reply:?}");
    }
    assert_eq!(calls.writes(), 0, "no record per replay");
    let mut browser = Client::new(router);
    browser.get("/flash/add?msg=bad").await;
    assert_eq!(
        browser.get("/flash/take").await.body,
        r#"[{"message":"bad","level":null}]"#
    );
}

pub async fn remove_and_clear(fixture: &Fixture) {
    let (config, _) = config_for(fixture);
    let mut client = Client::new(app::layered(config));
    client.get("/set?a=1&b=2&c=3").await;
    assert_eq!(
        dumped(&client.get("/remove/nope").await)["is_modified"],
        false
    );
    assert_eq!(dumped(&client.get("/remove/a").await)["removed"], 1);
    assert_eq!(
        dumped(&client.get("/dump").await)["values"],
        json!({"b": 2, "c": 3})
    );
    client.get("/replace?d=4").await;
    assert_eq!(
        dumped(&client.get("/dump").await)["values"],
        json!({"d": 4}),
        "cleared, then set in one request"
    );
    // Clearing the last keys ends the session: its cookie and record go (see below).
    client.get("/clear").await;
    assert_eq!(dumped(&client.get("/dump").await)["is_new"], true);
}

/// An emptied session deletes its cookie and its record instead of saving `{}` (as Django and
/// tower-sessions do): after `clear()`, after the last key is removed, after the last flash is
/// taken. A session that was never saved writes nothing, and makes no backend call.
pub async fn an_emptied_session_deletes_its_cookie_and_record(fixture: &Fixture) {
    let (config, calls) = config_for(fixture);
    let router = app::layered(config);
    for (fill, empty) in [
        ("/set?a=1", "/clear"),
        ("/set?a=1", "/remove/a"),
        ("/flash/add?msg=hi", "/flash/take"),
    ] {
        let mut client = Client::new(router.clone());
        client.get(fill).await;
        let old = client.cookie("session");
        let reply = client.get(empty).await;
        let removal = reply.set_cookie_header("session").unwrap_or_default();
        assert!(removal.contains("Max-Age=0"), "{empty}: {reply:?}");
        assert!(client.jar.is_empty(), "{empty}: the browser drops it");
        let replay = get_with_cookie(&router, "/dump", &format!("session={old}")).await;
        assert_eq!(
            dumped(&replay)["is_new"],
            true,
            "{empty}: the record is gone"
        );
    }
    let before = calls.snapshot();
    let reply = Client::new(router).get("/clear").await;
    assert!(reply.set_cookies.is_empty(), "a new session stays unsaved");
    assert_eq!(calls.snapshot(), before, "and costs no backend call");
}

pub async fn typed_and_unicode_values(fixture: &Fixture) {
    let (config, _) = config_for(fixture);
    let mut client = Client::new(app::layered(config));
    let nested = "%7B%22a%22%3A%5B1%2C2%2C%7B%22b%22%3Anull%7D%5D%2C%22t%22%3Atrue%7D"; // {"a":[1,2,{"b":null}],"t":true}
    client
        .get(&format!(
            "/set?n=42&f=1.5&neg=-7&nested={nested}&u=%C3%BC%E6%97%A5%E6%9C%AC%F0%9F%8E%89&empty=&%F0%9F%94%91=key&quote%22d=%5C"
        ))
        .await;
    assert_eq!(
        dumped(&client.get("/dump").await)["values"],
        json!({
            "n": 42, "f": 1.5, "neg": -7, "nested": {"a": [1, 2, {"b": null}], "t": true},
            "u": "ü日本🎉", "empty": "", "🔑": "key", "quote\"d": "\\"
        })
    );
    // Changing keys with awkward names goes through the partial-update path too.
    client.get("/set?quote%22d=2&%F0%9F%94%91=3").await;
    client.get("/remove/u").await;
    let values = dumped(&client.get("/dump").await)["values"].clone();
    assert_eq!(
        (
            values["quote\"d"].clone(),
            values["🔑"].clone(),
            values.get("u")
        ),
        (json!(2), json!(3), None)
    );
}

pub async fn new_unmodified_session_writes_nothing(fixture: &Fixture) {
    let (config, calls) = config_for(fixture);
    let mut client = Client::new(app::layered(config));
    let reply = client.get("/dump").await;
    assert_eq!(dumped(&reply)["is_new"], true);
    assert!(reply.set_cookies.is_empty());
    assert_eq!(
        calls.snapshot(),
        (0, 0, 0, 0),
        "no cookie: no backend call at all"
    );
}

pub async fn unmodified_loaded_session_is_not_saved(fixture: &Fixture) {
    let (config, calls) = config_for(fixture);
    let mut client = Client::new(app::layered(config));
    client.get("/set?a=1").await;
    let before = calls.snapshot();
    let reply = client.get("/touch").await;
    assert!(reply.set_cookies.is_empty());
    assert_eq!(
        calls.loads_and_writes_since(before),
        (1, 0),
        "one load, no write"
    );
}

/// One load and one write per change; the browser's id cookie stays as it is (no max age, no
/// rolling refresh, no fallback key), so no `Set-Cookie` is sent.
pub async fn a_change_under_the_same_id_sends_no_cookie(fixture: &Fixture) {
    let (config, calls) = config_for(fixture);
    let mut client = Client::new(app::layered(config));
    assert!(client.get("/set?a=1").await.cookie("session").is_some());
    let before = calls.snapshot();
    let reply = client.get("/set?a=2").await;
    assert!(reply.set_cookies.is_empty(), "{reply:?}");
    assert_eq!(
        calls.loads_and_writes_since(before),
        (1, 1),
        "one load, one write"
    );
    assert_eq!(
        dumped(&client.get("/dump").await)["values"],
        json!({"a": 2})
    );
}

/// "Remember me": a session given 30 days of idle lifetime (`set_expiry`) is sent with that
/// `Max-Age`, keeps it on later saves (it is stored in the record), and is still valid after
/// the configured one hour is over, since the server judges it by its own lifetime; a session
/// without one ends after the hour.
pub async fn a_session_of_its_own_lifetime_outlives_the_configured_one(fixture: &Fixture) {
    let (config, _) = config_with(fixture, |b| b.session_max_age(Duration::hours(1)));
    let router = app::layered(config.clone());
    let mut client = Client::new(router.clone());
    client.get("/set?user=ada").await;
    let reply = client.get("/expiry/remember").await;
    let header = reply.set_cookie_header("session").unwrap_or_default();
    assert!(header.contains("Max-Age=2592000"), "{header}");
    let later = client.get("/set?visits=2").await;
    let header = later.set_cookie_header("session").unwrap_or_default();
    assert!(
        header.contains("Max-Age=2592000"),
        "kept on later saves: {later:?}"
    );

    // The id cookie as if last saved two hours ago: past the configured hour.
    let id = super::session_id_in(&config, "session", &client.cookie("session")).unwrap();
    let two_hours_ago = time::OffsetDateTime::now_utc() - Duration::hours(2);
    let aged = |id: &str| {
        let value = config
            .id_serializer()
            .serialize_at("session", &json!({ "_sid": id }), two_hours_ago)
            .unwrap();
        format!("session={value}")
    };
    let reply = get_with_cookie(&router, "/dump", &aged(&id)).await;
    assert_eq!(
        dumped(&reply)["values"]["user"],
        "ada",
        "30 days idle, not one hour"
    );

    let mut other = Client::new(router.clone());
    other.get("/set?user=bob").await;
    let id = super::session_id_in(&config, "session", &other.cookie("session")).unwrap();
    let reply = get_with_cookie(&router, "/dump", &aged(&id)).await;
    assert_eq!(
        dumped(&reply)["is_new"],
        true,
        "the configured hour applies"
    );
}

pub async fn hundred_parallel_requests_keep_every_key(fixture: &Fixture) {
    let (config, calls) = config_for(fixture);
    let router = app::layered(config);
    let mut client = Client::new(router.clone());
    client.get("/set?init=0").await;
    let cookie = format!("session={}", client.cookie("session"));
    let tasks: Vec<_> = (0..100)
        .map(|i| {
            let router = router.clone();
            let cookie = cookie.clone();
            tokio::spawn(async move {
                get_with_cookie(&router, &format!("/set?k{i}={i}"), &cookie).await
            })
        })
        .collect();
    for task in tasks {
        let reply = task.await.unwrap();
        assert_eq!(reply.status, 200, "{}", reply.body);
    }
    let values = dumped(&client.get("/dump").await)["values"].clone();
    let values = values.as_object().unwrap();
    let missing: Vec<usize> = (0..100)
        .filter(|i| values.get(&format!("k{i}")) != Some(&json!(i)))
        .collect();
    assert!(missing.is_empty(), "lost keys: {missing:?}");
    assert_eq!(values.len(), 101);
    if fixture.backend.batch_limits().batch() > 1 && !fixture.caches_loads {
        // The loads that came while one was in flight went out together (a save per session
        // per batch: these saves, all of one session, went one by one, in order).
        let largest = calls.largest_load_batch.load(Ordering::SeqCst);
        assert!(largest > 1, "no load was batched (largest batch {largest})");
        assert!(calls.largest_apply_batch.load(Ordering::SeqCst) <= 1);
    }
}

pub async fn expired_record_never_loads(fixture: &Fixture) {
    // The cookie itself never expires here: only the record's TTL ends the session.
    let (config, _) = config_with(fixture, |b| b.server_session_ttl(Duration::seconds(1)));
    let mut client = Client::new(app::layered(config));
    client.get("/set?a=1").await;
    assert_eq!(dumped(&client.get("/dump").await)["is_new"], false);
    tokio::time::sleep(StdDuration::from_millis(2100)).await;
    let expired = dumped(&client.get("/dump").await);
    assert_eq!(
        (expired["is_new"].clone(), expired["values"].clone()),
        (json!(true), json!({}))
    );
    // Deleting expired records leaves none that loads (backends with their own expiry have
    // no `delete_expired`).
    if let Some(delete_expired) = &fixture.delete_expired {
        delete_expired().await.unwrap();
    }
    assert_eq!(dumped(&client.get("/dump").await)["is_new"], true);
}

pub async fn regenerate_id_moves_the_data_and_kills_the_old_id(fixture: &Fixture) {
    let (config, _) = config_for(fixture);
    let router = app::layered(config);
    let mut client = Client::new(router.clone());
    client.get("/set?user=ada").await;
    let old = client.cookie("session");
    let reply = client.get("/regenerate").await;
    let new = reply.cookie("session").expect("a new id cookie");
    assert_ne!(new, old);
    assert_eq!(
        dumped(&client.get("/dump").await)["values"],
        json!({"user": "ada"})
    );
    let replay = get_with_cookie(&router, "/dump", &format!("session={old}")).await;
    assert_eq!(
        dumped(&replay),
        json!({"is_new": true, "is_modified": false, "values": {}})
    );
}

/// An anonymous visitor shown a form costs no server record: 1,000 cookie-less `GET`s of a
/// page with a CSRF token write nothing (and load nothing) on the backend, and each token is
/// accepted by its `POST`. (A full backend or an outage could not turn such a page into a 5xx.)
pub async fn anonymous_visitors_shown_a_form_cost_no_record(fixture: &Fixture) {
    let (config, calls) = config_for(fixture);
    let router = Router::new()
        .route(
            "/form",
            get(|csrf: CsrfToken| async move { csrf.to_string() }).post(|| async { "posted" }),
        )
        .layer(CsrfLayer::new(config.clone()))
        .layer(config.layer())
        .with_state(config);
    for _ in 0..1000 {
        let mut visitor = Client::new(router.clone());
        let form = visitor.get("/form").await;
        assert_eq!(form.status, 200, "{form:?}");
        let post = Request::post("/form")
            .header("x-csrf-token", form.body)
            .body(axum::body::Body::empty())
            .unwrap();
        let posted = visitor.send(post).await;
        assert_eq!(
            (posted.status.as_u16(), posted.body.as_str()),
            (200, "posted")
        );
    }
    assert_eq!(calls.snapshot(), (0, 0, 0, 0), "no load and no write");
}

/// A double-clicked login: four requests with one cookie, each calling `regenerate_id()`, ten
/// rounds. None answers 5xx (the losers of the race get the conflict status), and the browser,
/// applying the `Set-Cookie`s in the order the answers arrive, ends logged in.
pub async fn double_submitted_logins_end_logged_in_without_a_5xx(fixture: &Fixture) {
    let (config, _) = config_for(fixture);
    let router = app::layered(config);
    for round in 0..10 {
        let mut browser = Client::new(router.clone());
        browser.get("/set?a=1").await;
        let cookie = format!("session={}", browser.cookie("session"));
        let (sender, mut arrivals) = tokio::sync::mpsc::unbounded_channel();
        for _ in 0..4 {
            let (router, cookie, sender) = (router.clone(), cookie.clone(), sender.clone());
            tokio::spawn(async move {
                let _ = sender.send(get_with_cookie(&router, "/login", &cookie).await);
            });
        }
        drop(sender);
        let mut statuses = Vec::new();
        while let Some(reply) = arrivals.recv().await {
            assert!(
                !reply.status.is_server_error(),
                "round {round}: a double submit answered {reply:?}"
            );
            statuses.push(reply.status.as_u16());
            for header in &reply.set_cookies {
                browser.jar.store(header);
            }
        }
        assert_eq!(statuses.len(), 4);
        let now = dumped(&browser.get("/dump").await);
        assert_eq!(
            now["values"]["user"], "ada",
            "round {round}: answers {statuses:?} left the browser logged out: {now}"
        );
    }
}

/// The click of a double-clicked login that loads after the other one moved the session (the
/// record its cookie names is gone, and its CSRF secret with it) is a conflict like the clicks
/// that lost the race while saving: `409` without a cookie, or the layer's `on_conflict`
/// answer; not a `403` for a token no one can check, the page a user would see last.
pub async fn a_form_posted_after_its_session_moved_is_a_conflict(fixture: &Fixture) {
    let (config, _) = config_for(fixture);
    let login = |session: Session| async move {
        session.regenerate_id();
        session.insert("user", "ada")?;
        Ok::<_, SessionError>("logged in")
    };
    let routes = || {
        Router::new()
            .route(
                "/visit",
                get(|session: Session| async move { session.insert("seen", true) }),
            )
            .route(
                "/login",
                get(|csrf: CsrfToken| async move { csrf.to_string() }).post(login),
            )
            .layer(CsrfLayer::new(config.clone()))
    };
    let plain = routes().layer(config.layer()).with_state(config.clone());
    let redirecting = routes()
        .layer(
            config
                .layer()
                .on_conflict(|conflict| Redirect::to(conflict.uri().path()).into_response()),
        )
        .with_state(config.clone());
    for (router, status) in [(plain, 409), (redirecting, 303)] {
        let mut browser = Client::new(router.clone());
        // A record, so that the login moves it.
        browser.get("/visit").await;
        let token = browser.get("/login").await.body;
        let cookie = format!("session={}", browser.cookie("session"));
        let post = || {
            Request::post("/login")
                .header("cookie", cookie.clone())
                .header("x-csrf-token", token.clone())
                .body(axum::body::Body::empty())
                .unwrap()
        };
        let first = super::send(&router, post()).await;
        assert_eq!(first.status, 200, "{first:?}");
        let second = super::send(&router, post()).await;
        assert_eq!(second.status.as_u16(), status, "{second:?}");
        assert!(
            second.set_cookies.is_empty(),
            "the browser keeps the winner's cookie: {second:?}"
        );
    }
}

/// Request A loads the session and calls `regenerate_id()`; before A saves, request B logs out
/// (deletes the record) and is answered. A's save must fail (`SessionGone`, a 409 conflict
/// without a cookie) rather than bring the session back under a new id.
/// A session `{a: 1}`, then `/login-paused` on it with `meanwhile` sent (with the same cookie)
/// between the login's load and its save; the router, the cookie, and the login's reply.
async fn login_racing(fixture: &Fixture, meanwhile: &str) -> (Router, String, super::Reply) {
    let (config, _) = config_for(fixture);
    let pause = Arc::new(app::Pause::default());
    let router = app::layered_with_pause(config, pause.clone());
    let mut client = Client::new(router.clone());
    client.get("/set?a=1").await;
    let cookie = format!("session={}", client.cookie("session"));

    let login = tokio::spawn({
        let (router, cookie) = (router.clone(), cookie.clone());
        async move { get_with_cookie(&router, "/login-paused", &cookie).await }
    });
    pause.reached.notified().await;
    let other = get_with_cookie(&router, meanwhile, &cookie).await;
    assert_eq!(other.status, 200, "{meanwhile} is answered: {other:?}");
    pause.resume.notify_one();
    let login = login.await.unwrap();
    (router, cookie, login)
}

pub async fn regenerate_never_undoes_a_logout_that_ran_meanwhile(fixture: &Fixture) {
    let (router, cookie, login) = login_racing(fixture, "/invalidate").await;
    assert_eq!(login.status, 409, "{login:?}");
    assert!(login.set_cookies.is_empty(), "no new id: {login:?}");
    let replay = get_with_cookie(&router, "/dump", &cookie).await;
    assert_eq!(dumped(&replay)["is_new"], true, "the old id stays dead");
}

/// Request A loads the session and calls `regenerate_id()`; before A saves, request B changes
/// the record and is answered 200. The record under A's new id keeps B's change.
pub async fn regenerate_keeps_a_change_acknowledged_meanwhile(fixture: &Fixture) {
    let (router, cookie, login) = login_racing(fixture, "/set?b=2").await;
    assert_eq!(login.status, 200, "{login:?}");
    let moved = login.cookie("session").expect("the new id");
    let reply = get_with_cookie(&router, "/dump", &format!("session={moved}")).await;
    assert_eq!(
        dumped(&reply)["values"],
        json!({"a": 1, "b": 2, "user": "ada"}),
        "B's acknowledged change survives the move"
    );
    let replay = get_with_cookie(&router, "/dump", &cookie).await;
    assert_eq!(dumped(&replay)["is_new"], true, "the old id is dead");
}

pub async fn invalidate_deletes_the_record(fixture: &Fixture) {
    let (config, _) = config_for(fixture);
    let router = app::layered(config);
    let mut client = Client::new(router.clone());
    client.get("/set?user=ada").await;
    let old = client.cookie("session");
    let reply = client.get("/invalidate").await;
    assert!(reply
        .set_cookie_header("session")
        .unwrap()
        .contains("Max-Age=0"));
    assert!(client.jar.is_empty());
    let replay = get_with_cookie(&router, "/dump", &format!("session={old}")).await;
    assert_eq!(
        dumped(&replay),
        json!({"is_new": true, "is_modified": false, "values": {}})
    );
}

pub async fn forged_unknown_and_malformed_ids_get_fresh_sessions_without_writes(fixture: &Fixture) {
    let (config, calls) = config_for(fixture);
    let router = app::layered(config.clone());
    let serializer = config.id_serializer();
    let now = time::OffsetDateTime::now_utc();
    let unknown = serializer
        .serialize_at(
            "session",
            &json!({"_sid": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}),
            now,
        )
        .unwrap();
    let malformed = serializer
        .serialize_at("session", &json!({"_sid": "../../etc/passwd"}), now)
        .unwrap();
    let not_a_string = serializer
        .serialize_at("session", &json!({"_sid": 12}), now)
        .unwrap();
    let mut forged = unknown.clone().into_bytes();
    forged[2] ^= 1;
    let forged = String::from_utf8(forged).unwrap();

    for (label, cookie, loads) in [
        ("forged", &forged, 0),
        ("malformed", &malformed, 0),
        ("not a string", &not_a_string, 0),
        ("unknown", &unknown, 1),
    ] {
        let before = calls.snapshot();
        let reply = get_with_cookie(&router, "/dump", &format!("session={cookie}")).await;
        assert_eq!(dumped(&reply)["is_new"], true, "{label}");
        let after = calls.snapshot();
        assert_eq!(after.0 - before.0, loads, "{label}: backend loads");
        assert_eq!(calls.writes(), 0, "{label}: no backend write");
    }
    // A client-chosen id is never adopted: writing to such a session creates a fresh id.
    let reply = get_with_cookie(&router, "/set?a=1", &format!("session={unknown}")).await;
    let fresh = super::session_id_in(&config, "session", &reply.cookie("session").unwrap());
    assert!(
        fresh.is_some_and(|id| id != "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
        "a fresh id, not the client's"
    );
}

struct ServerCart;
impl SessionName for ServerCart {
    const NAME: &'static str = "cart";
}

pub async fn cookie_and_server_sessions_side_by_side(fixture: &Fixture) {
    async fn both(
        cart: Session<ServerCart>,
        prefs: Session<super::app::Other>,
    ) -> Result<Session<ServerCart>, SessionError> {
        let items: u32 = cart.get("items")?.unwrap_or(0) + 1;
        cart.insert("items", items)?;
        prefs.insert("theme", "dark")?;
        Ok(cart)
    }
    async fn read(cart: Session<ServerCart>, prefs: Session<super::app::Other>) -> String {
        json!({"items": cart.get_value("items"), "theme": prefs.get_value("theme")}).to_string()
    }
    let (counting, _) = Counting::new(fixture.backend.clone());
    let config = SessionConfig::builder()
        .secret_key(super::SECRET)
        .session_backend::<ServerCart>(storage(counting))
        .build()
        .unwrap();
    let router = Router::new()
        .route("/both", get(both))
        .route("/read", get(read))
        .layer(config.layer())
        .with_state(config);
    let mut client = Client::new(router);
    let reply = client.get("/both").await;
    assert_eq!(reply.set_cookies.len(), 2, "{:?}", reply.set_cookies);
    client.get("/both").await;
    assert_eq!(
        client.get("/read").await.body,
        json!({"items": 2, "theme": "dark"}).to_string()
    );
    // The server-side cookie holds only the id; the cookie session holds its data.
    let config = SessionConfig::builder()
        .secret_key(super::SECRET)
        .build()
        .unwrap();
    let cart = config
        .id_serializer()
        .deserialize("cart", &client.cookie("cart"), None)
        .unwrap();
    assert_eq!(cart.keys().collect::<Vec<_>>(), ["_sid"]);
    let other = config
        .serializer()
        .deserialize("other", &client.cookie("other"), None)
        .unwrap();
    assert_eq!(other["theme"], "dark");
}

/// A user id no other test (or earlier run) uses.
fn unique_user(label: &str) -> String {
    format!("{label}-{}", SessionId::generate().unwrap().as_str())
}

/// Three browsers log in as one user, one as another; the first lists the user's sessions and
/// signs out the other two, which are logged out; the other user is untouched; then the
/// backend revokes the rest.
/// `set_user_id` gives the session a new id even when the app forgets `regenerate_id()`;
/// `revoke_session(handle)` ends only a session of the caller's own user; an anonymous session
/// lists nothing and revokes nothing.
pub async fn one_user_cannot_list_or_revoke_anothers_session(fixture: &Fixture) {
    let (config, _) = config_for(fixture);
    let router = app::layered(config.clone());
    let (ada, bob) = (unique_user("ada"), unique_user("bob"));
    let session_id = |client: &Client| {
        super::session_id_in(&config, "session", &client.cookie("session")).unwrap()
    };

    let mut ada_phone = Client::new(router.clone());
    ada_phone.get("/set?cart=1").await;
    let before_login = session_id(&ada_phone);
    assert_eq!(ada_phone.get(&format!("/tie/{ada}")).await.status, 200);
    let ada_phone_id = session_id(&ada_phone);
    assert_ne!(ada_phone_id, before_login, "set_user_id gave a new id");
    // The cookie the browser held before the login: its id is dead.
    let pre_login = config
        .id_serializer()
        .serialize_at(
            "session",
            &json!({ "_sid": before_login }),
            time::OffsetDateTime::now_utc(),
        )
        .unwrap();
    let replay = get_with_cookie(&router, "/dump", &format!("session={pre_login}")).await;
    assert_eq!(dumped(&replay)["is_new"], true, "the pre-login id is dead");

    let mut ada_laptop = Client::new(router.clone());
    ada_laptop.get(&format!("/tie/{ada}")).await;
    let mut bob_phone = Client::new(router.clone());
    bob_phone.get(&format!("/tie/{bob}")).await;
    let mut anonymous = Client::new(router.clone());
    anonymous.get("/set?a=1").await;

    assert_eq!(
        dumped(&anonymous.get("/devices").await),
        json!({"count": 0, "current_listed": false}),
        "an anonymous session lists nothing"
    );
    // Bob (and an anonymous visitor) hold Ada's id, from a form say: nothing happens.
    let ada_phone_handle = ada_phone.get("/handle").await.body;
    assert_eq!(ada_phone_handle.len(), 22, "a handle, not the id");
    assert!(!ada_phone_handle.contains(ada_phone_id.as_str()));
    let attack = format!("/revoke/{ada_phone_handle}");
    assert_eq!(bob_phone.get(&attack).await.body, "false");
    assert_eq!(anonymous.get(&attack).await.body, "false");
    assert_eq!(
        dumped(&ada_phone.get("/dump").await)["values"],
        json!({"cart": 1})
    );
    // Ada's laptop logs her phone out.
    assert_eq!(ada_laptop.get(&attack).await.body, "true");
    assert_eq!(dumped(&ada_phone.get("/dump").await)["is_new"], true);
    assert_eq!(ada_laptop.get(&attack).await.body, "false", "already gone");
    assert_eq!(
        dumped(&bob_phone.get("/devices").await),
        json!({"count": 1, "current_listed": true})
    );
}

pub async fn a_users_other_sessions_are_listed_and_revoked(fixture: &Fixture) {
    let (config, _) = config_for(fixture);
    let router = app::layered(config);
    let (ada, bob) = (unique_user("ada"), unique_user("bob"));
    let mut browsers = Vec::new();
    for user in [&ada, &ada, &ada, &bob] {
        let mut client = Client::new(router.clone());
        client.get("/set?cart=1").await;
        let login = client.get(&format!("/login-as/{user}")).await;
        assert_eq!(login.status, 200, "{login:?}");
        browsers.push(client);
    }
    let devices = dumped(&browsers[0].get("/devices").await);
    assert_eq!(devices, json!({"count": 3, "current_listed": true}));
    if let Some(ids) = raw_index(fixture, &ada).await {
        assert_eq!(ids.len(), 3);
    }

    let revoked = browsers[0].get("/revoke-others").await;
    assert_eq!(revoked.status, 200, "{revoked:?}");
    assert_eq!(revoked.body, "2");
    for revoked in &mut browsers[1..3] {
        let after = dumped(&revoked.get("/dump").await);
        assert_eq!(
            (after["is_new"].clone(), after["values"].clone()),
            (json!(true), json!({}))
        );
    }
    let current = dumped(&browsers[0].get("/dump").await);
    assert_eq!(current["values"], json!({"cart": 1}));
    assert_eq!(
        dumped(&browsers[0].get("/devices").await),
        json!({"count": 1, "current_listed": true})
    );
    assert_eq!(
        dumped(&browsers[3].get("/devices").await),
        json!({"count": 1, "current_listed": true}),
        "another user's sessions stay"
    );

    // From outside any request (an admin page, a password reset): every session of the user.
    // (A sealed storage's own index holds no user id: its test revokes through the storage.)
    if fixture.sealed {
        return;
    }
    assert_eq!(
        fixture
            .backend
            .revoke_user_sessions(&ada, None)
            .await
            .unwrap(),
        1
    );
    assert!(fixture.backend.user_ids(&ada).await.unwrap().is_empty());
    assert_eq!(dumped(&browsers[0].get("/dump").await)["is_new"], true);
    assert_eq!(
        fixture
            .backend
            .revoke_user_sessions(&ada, None)
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        fixture
            .backend
            .revoke_user_sessions(&bob, None)
            .await
            .unwrap(),
        1
    );
}

/// The ids the backend's own index holds for `user`; `None` for a sealed storage, whose index
/// holds a MAC of the user id (what the app lists is checked instead).
async fn raw_index(fixture: &Fixture, user: &str) -> Option<Vec<SessionId>> {
    match fixture.sealed {
        true => None,
        false => Some(fixture.backend.user_ids(user).await.unwrap()),
    }
}

/// The user stays with the session when it moves to a new id and when its values change; a
/// logout unties it.
pub async fn a_user_follows_the_session_through_moves_and_changes(fixture: &Fixture) {
    let (config, _) = config_for(fixture);
    let router = app::layered(config);
    let (ada, bob) = (unique_user("ada"), unique_user("bob"));
    let mut client = Client::new(router.clone());
    client.get(&format!("/login-as/{ada}")).await;
    // A sealed storage's own index holds a MAC of the user id, not the id.
    if fixture.sealed {
        return;
    }
    let first = fixture.backend.user_ids(&ada).await.unwrap();
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].as_str(), session_id_in_client(&client));

    client.get("/regenerate").await;
    let moved = fixture.backend.user_ids(&ada).await.unwrap();
    assert_eq!(moved.len(), 1);
    assert_ne!(moved, first, "listed under its new id only");
    assert_eq!(moved[0].as_str(), session_id_in_client(&client));

    client.get("/set?theme=dark").await;
    client.get("/clear").await;
    assert_eq!(fixture.backend.user_ids(&ada).await.unwrap(), moved);

    // Logging in as someone else moves the session between users.
    client.get(&format!("/login-as/{bob}")).await;
    assert!(fixture.backend.user_ids(&ada).await.unwrap().is_empty());
    assert_eq!(fixture.backend.user_ids(&bob).await.unwrap().len(), 1);

    client.get("/invalidate").await;
    assert!(fixture.backend.user_ids(&bob).await.unwrap().is_empty());
}

/// The id in the client's signed id cookie.
fn session_id_in_client(client: &Client) -> String {
    let config = SessionConfig::builder()
        .secret_key(super::SECRET)
        .build()
        .unwrap();
    super::session_id_in(&config, "session", &client.cookie("session")).expect("an id cookie")
}

/// Twenty sessions of one user keep moving to new ids while the user's sessions but one are
/// revoked: once both are done, only that one is left. (A revocation that missed a session in
/// the middle of a move would leave it alive under its new id.)
pub async fn revoking_while_sessions_move_leaves_none_behind(fixture: &Fixture) {
    let user = unique_user("carol");
    let ttl = Duration::hours(1);
    let record: axum_session_store::backend::Record =
        serde_json::from_value(json!({"_user": user, "n": 1})).unwrap();
    let keep = SessionId::generate().unwrap();
    assert!(fixture.backend.create(&keep, &record, ttl).await.unwrap());
    let mut movers = Vec::new();
    for _ in 0..20 {
        let mut id = SessionId::generate().unwrap();
        assert!(fixture.backend.create(&id, &record, ttl).await.unwrap());
        let backend = fixture.backend.clone();
        movers.push(tokio::spawn(async move {
            for _ in 0..10 {
                let new = SessionId::generate().unwrap();
                match backend
                    .regenerate(&id, &new, &Changes::default(), ttl)
                    .await
                {
                    Ok(Regenerated::Moved) => id = new,
                    Ok(_) => return,
                    // A backend may refuse a move that collides with the revocation (a
                    // deadlock victim): the session is then not moved.
                    Err(_) => return,
                }
            }
        }));
    }
    tokio::task::yield_now().await;
    let revoked = fixture
        .backend
        .revoke_user_sessions(&user, Some(&keep))
        .await
        .unwrap();
    for mover in movers {
        mover.await.unwrap();
    }
    assert_eq!(
        fixture.backend.user_ids(&user).await.unwrap(),
        vec![keep.clone()],
        "{revoked} revoked"
    );
    fixture.backend.delete(&keep).await.unwrap();
}

/// The suite the testing kit publishes for users' own backends passes on this one.
pub async fn passes_the_published_backend_suite(fixture: &Fixture) {
    use axum_session_store::test_util::{backend_suite, batching_suite, user_index_suite};
    backend_suite(fixture.backend.clone()).await;
    batching_suite(fixture.backend.clone()).await;
    user_index_suite(fixture.backend.clone()).await;
}
