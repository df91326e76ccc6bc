//! Expiry policies, enforced by the server for cookie and server-side sessions: webapp2's idle
//! `session_max_age`, an absolute lifetime that activity never extends, and an opt-in rolling
//! refresh that turns reads into writes at most once per interval.

use crate::common;

use std::sync::Arc;

use axum::Router;
use axum_session_store::backend::{MemoryBackend, Storage};
use axum_session_store::{SessionBackend, SessionConfig, SessionConfigBuilder, SessionId};
use common::counting::Counting;
use common::{app, dumped, get_with_cookie};
use serde_json::json;
use time::{Duration, OffsetDateTime};

fn cookie_config(
    tweak: impl FnOnce(SessionConfigBuilder) -> SessionConfigBuilder,
) -> SessionConfig {
    tweak(SessionConfig::builder().secret_key(common::SECRET))
        .build()
        .unwrap()
}

fn ago(seconds: i64) -> OffsetDateTime {
    OffsetDateTime::now_utc() - Duration::seconds(seconds)
}

/// A signed cookie for `values`, as if last saved at `saved_at`.
fn cookie(config: &SessionConfig, values: serde_json::Value, saved_at: OffsetDateTime) -> String {
    let value = config
        .serializer()
        .serialize_at("session", &values, saved_at)
        .unwrap();
    format!("session={value}")
}

async fn dump(router: &Router, cookie: &str) -> (serde_json::Value, Vec<String>) {
    let reply = get_with_cookie(router, "/touch", cookie).await;
    (dumped(&reply), reply.set_cookies)
}

#[tokio::test]
async fn absolute_lifetime_ends_a_cookie_session_however_recently_it_was_saved() {
    let config = cookie_config(|b| b.absolute_max_age(Duration::hours(1)));
    let router = app::router(config.clone());
    let young = cookie(
        &config,
        json!({"a": 1, "_created": ago(59 * 60).unix_timestamp()}),
        ago(1),
    );
    let old = cookie(
        &config,
        json!({"a": 1, "_created": ago(61 * 60).unix_timestamp()}),
        ago(1),
    );
    let (young, _) = dump(&router, &young).await;
    assert_eq!(
        young["values"],
        json!({"a": 1}),
        "the reserved key is not among the values"
    );
    let (old, _) = dump(&router, &old).await;
    assert_eq!(old["is_new"], true);
}

#[tokio::test]
async fn the_creation_time_is_kept_across_saves_and_a_new_session_starts_now() {
    let config = cookie_config(|b| b.absolute_max_age(Duration::hours(1)));
    let router = app::router(config.clone());
    let created = ago(30 * 60).unix_timestamp();
    let start = cookie(&config, json!({"a": 1, "_created": created}), ago(5));
    let reply = get_with_cookie(&router, "/set?b=2", &start).await;
    let saved = config
        .serializer()
        .deserialize("session", &reply.cookie("session").unwrap(), None)
        .unwrap();
    assert_eq!(
        saved["_created"], created,
        "a save does not restart the lifetime"
    );

    let fresh = get_with_cookie(&router, "/set?c=3", "").await;
    let fresh = config
        .serializer()
        .deserialize("session", &fresh.cookie("session").unwrap(), None)
        .unwrap();
    let now = OffsetDateTime::now_utc().unix_timestamp();
    assert!(
        (now - fresh["_created"].as_i64().unwrap()).abs() <= 2,
        "a new session starts now"
    );
}

#[tokio::test]
async fn without_an_absolute_lifetime_the_cookie_format_is_unchanged() {
    let config = cookie_config(|b| b);
    let reply = get_with_cookie(&app::router(config.clone()), "/set?a=1", "").await;
    let saved = config
        .serializer()
        .deserialize("session", &reply.cookie("session").unwrap(), None)
        .unwrap();
    assert_eq!(serde_json::Value::Object(saved), json!({"a": 1}));
}

#[tokio::test]
async fn rolling_refresh_rewrites_a_read_session_at_most_once_per_interval() {
    let config = cookie_config(|b| {
        b.session_max_age(Duration::minutes(30))
            .rolling_refresh(Duration::minutes(5))
    });
    let router = app::router(config.clone());
    let (_, recent) = dump(&router, &cookie(&config, json!({"a": 1}), ago(4 * 60))).await;
    assert!(recent.is_empty(), "saved 4 minutes ago: no write");
    let (values, due) = dump(&router, &cookie(&config, json!({"a": 1}), ago(6 * 60))).await;
    assert_eq!(values["values"], json!({"a": 1}));
    assert_eq!(due.len(), 1, "saved 6 minutes ago: refreshed");
    // The refreshed cookie carries a new timestamp, so the idle expiry restarts.
    let refreshed = due[0]
        .split(';')
        .next()
        .unwrap()
        .strip_prefix("session=")
        .unwrap();
    let verified = config
        .serializer()
        .deserialize_at("session", refreshed, None, OffsetDateTime::now_utc())
        .unwrap();
    assert!(OffsetDateTime::now_utc() - verified.signed_at < Duration::seconds(5));
}

#[tokio::test]
async fn by_default_reads_move_the_idle_expiry_once_per_tenth_of_it() {
    let config = cookie_config(|b| b.session_max_age(Duration::minutes(30)));
    let router = app::router(config.clone());
    let (_, recent) = dump(&router, &cookie(&config, json!({"a": 1}), ago(2 * 60))).await;
    assert!(recent.is_empty(), "saved 2 minutes ago: no write");
    let (values, due) = dump(&router, &cookie(&config, json!({"a": 1}), ago(4 * 60))).await;
    assert_eq!(values["values"], json!({"a": 1}));
    assert_eq!(due.len(), 1, "saved 4 minutes ago (over 3): refreshed");
}

#[tokio::test]
async fn a_rolling_refresh_of_duration_max_turns_refreshing_off() {
    let config = cookie_config(|b| {
        b.session_max_age(Duration::minutes(30))
            .rolling_refresh(Duration::MAX)
    });
    let (_, writes) = dump(
        &app::router(config.clone()),
        &cookie(&config, json!({"a": 1}), ago(20 * 60)),
    )
    .await;
    assert!(writes.is_empty());
}

#[tokio::test]
async fn a_cookie_session_without_any_max_age_expires_on_the_server_after_two_weeks() {
    let config = cookie_config(|b| b);
    let router = app::router(config.clone());
    let (young, _) = dump(&router, &cookie(&config, json!({"a": 1}), ago(13 * 86_400))).await;
    assert_eq!(young["values"], json!({"a": 1}), "13 days old: live");
    let (old, _) = dump(&router, &cookie(&config, json!({"a": 1}), ago(15 * 86_400))).await;
    assert_eq!(old["is_new"], true, "15 days old: a copied cookie is dead");
    let longer = cookie_config(|b| b.server_session_ttl(Duration::days(30)));
    let (kept, _) = dump(
        &app::router(longer.clone()),
        &cookie(&longer, json!({"a": 1}), ago(15 * 86_400)),
    )
    .await;
    assert_eq!(
        kept["values"],
        json!({"a": 1}),
        "the lifetime is configurable"
    );
}

/// A server-side session in memory whose record says it was created `created_ago` seconds ago
/// and whose id cookie was signed `saved_ago` seconds ago.
async fn server_session(
    config: &SessionConfig,
    backend: &MemoryBackend,
    created_ago: Option<i64>,
    saved_ago: i64,
) -> (SessionId, String) {
    let id = SessionId::generate().unwrap();
    let mut record = json!({"a": 1}).as_object().unwrap().clone();
    if let Some(created_ago) = created_ago {
        record.insert("_created".into(), json!(ago(created_ago).unix_timestamp()));
    }
    assert!(backend
        .create(&id, &record, Duration::hours(1))
        .await
        .unwrap());
    let value = config
        .id_serializer()
        .serialize_at("session", &json!({"_sid": id.as_str()}), ago(saved_ago))
        .unwrap();
    (id, format!("session={value}"))
}

fn server_config(
    backend: Arc<MemoryBackend>,
    tweak: impl FnOnce(SessionConfigBuilder) -> SessionConfigBuilder,
) -> (SessionConfig, Arc<common::counting::Calls>) {
    let (counting, calls) = Counting::new(backend);
    let config = tweak(
        SessionConfig::builder()
            .secret_key(common::SECRET)
            .default_backend(Storage::with_user_index(counting)),
    )
    .build()
    .unwrap();
    (config, calls)
}

#[tokio::test]
async fn absolute_lifetime_ends_a_server_session_and_survives_clear() {
    let backend = Arc::new(MemoryBackend::new());
    let (config, _) = server_config(backend.clone(), |b| b.absolute_max_age(Duration::hours(1)));
    let router = app::layered(config.clone());

    let (_, old) = server_session(&config, &backend, Some(61 * 60), 1).await;
    assert_eq!(dump(&router, &old).await.0["is_new"], true);

    let (id, young) = server_session(&config, &backend, Some(30 * 60), 1).await;
    let (young_dump, _) = dump(&router, &young).await;
    assert_eq!(
        young_dump["values"],
        json!({"a": 1}),
        "the reserved key is hidden"
    );
    // Clearing the session's keys keeps its creation time in the record.
    let reply = get_with_cookie(&router, "/replace?b=2", &young).await;
    assert_eq!(reply.status, 200);
    let record = backend.load(&id).await.unwrap().unwrap();
    assert_eq!(record["_created"], json!(ago(30 * 60).unix_timestamp()));
    assert_eq!(record.len(), 2, "{record:?}");
}

#[tokio::test]
async fn the_record_ttl_is_cut_to_what_is_left_of_the_absolute_lifetime() {
    let backend = Arc::new(MemoryBackend::new());
    let (config, _) = server_config(backend.clone(), |b| {
        b.absolute_max_age(Duration::seconds(62))
    });
    let router = app::layered(config.clone());
    // Created 60 s ago: 2 s of lifetime left, though the idle TTL is 14 days.
    let (id, session) = server_session(&config, &backend, Some(60), 1).await;
    assert_eq!(
        get_with_cookie(&router, "/set?b=2", &session).await.status,
        200
    );
    assert!(backend.load(&id).await.unwrap().is_some());
    tokio::time::sleep(std::time::Duration::from_millis(3100)).await;
    assert!(
        backend.load(&id).await.unwrap().is_none(),
        "the record expired with the lifetime"
    );
}

#[tokio::test]
async fn rolling_refresh_of_a_server_session_touches_the_record_once_per_interval() {
    let backend = Arc::new(MemoryBackend::new());
    let (config, calls) = server_config(backend.clone(), |b| {
        b.server_session_ttl(Duration::minutes(30))
            .rolling_refresh(Duration::minutes(5))
    });
    let router = app::layered(config.clone());
    let (_, recent) = server_session(&config, &backend, None, 4 * 60).await;
    let (_, writes) = dump(&router, &recent).await;
    assert!(writes.is_empty());
    assert_eq!(calls.writes(), 0);

    let (id, due) = server_session(&config, &backend, None, 6 * 60).await;
    let (_, writes) = dump(&router, &due).await;
    assert_eq!(writes.len(), 1, "the id cookie is signed again");
    assert_eq!(
        calls.snapshot().2,
        1,
        "one apply, with no changes, refreshes the TTL"
    );
    assert_eq!(
        backend.load(&id).await.unwrap().unwrap()["a"],
        1,
        "data untouched"
    );
}

#[tokio::test]
async fn by_default_a_read_of_a_server_session_moves_its_record_ttl() {
    let backend = Arc::new(MemoryBackend::new());
    let (config, calls) = server_config(backend.clone(), |b| {
        b.session_max_age(Duration::minutes(30))
    });
    let router = app::layered(config.clone());
    let (_, recent) = server_session(&config, &backend, None, 2 * 60).await;
    let (_, writes) = dump(&router, &recent).await;
    assert!(
        writes.is_empty() && calls.writes() == 0,
        "2 minutes: no write"
    );

    let (_, due) = server_session(&config, &backend, None, 4 * 60).await;
    let (_, writes) = dump(&router, &due).await;
    assert_eq!(writes.len(), 1, "the id cookie is signed again");
    assert_eq!(calls.snapshot().2, 1, "one apply refreshes the TTL");
}

/// A user who changes the session on every request keeps it: with no max age configured, a
/// change under the same id sends no cookie, but once the id cookie is a tenth of the
/// server-session TTL old, the save signs it again, so the server's idle check on its
/// timestamp never ends an active session.
#[tokio::test]
async fn a_session_changed_on_every_request_gets_its_id_cookie_signed_again_in_time() {
    let backend = Arc::new(MemoryBackend::new());
    let (config, _) = server_config(backend.clone(), |b| b);
    let router = app::layered(config.clone());
    let (_, fresh) = server_session(&config, &backend, None, 60).await;
    let reply = get_with_cookie(&router, "/set?b=2", &fresh).await;
    assert!(reply.set_cookies.is_empty(), "a minute old: no cookie");
    let (_, old) = server_session(&config, &backend, None, 2 * 86_400).await;
    let reply = get_with_cookie(&router, "/set?b=2", &old).await;
    assert_eq!(reply.set_cookies.len(), 1, "two days old: signed again");
}

/// The keys the crate keeps in a session for itself cannot be written by a handler: a clear
/// error, and the session is left unchanged.
#[tokio::test]
async fn reserved_keys_cannot_be_written() {
    use axum_session_store::{Session, SessionError, SessionStore};
    async fn write(session: Session, store: SessionStore) -> String {
        let insert = session.insert("_created", 1);
        let insert_value = session.insert_value("_created", json!(1));
        let merge =
            store.set_secure_cookie("other", json!({"_created": 1}).as_object().unwrap().clone());
        let all = [insert, insert_value, merge];
        let refused = all
            .iter()
            .all(|result| matches!(result, Err(SessionError::ReservedKey { key, .. }) if key == "_created"));
        format!("{refused} {} {}", session.is_modified(), session.len())
    }
    let router = axum::Router::new()
        .route("/", axum::routing::get(write))
        .with_state(common::config());
    let reply = get_with_cookie(&router, "/", "").await;
    assert_eq!(reply.body, "true false 0");
    assert!(reply.set_cookies.is_empty());
}

/// A creation time in the future (a clock that jumped, a record written elsewhere) counts as
/// now: the lifetime is never stretched by it.
#[tokio::test]
async fn a_creation_time_in_the_future_is_clamped_to_now() {
    let backend = Arc::new(MemoryBackend::new());
    let (config, _) = server_config(backend.clone(), |b| b.absolute_max_age(Duration::hours(1)));
    let router = app::layered(config.clone());
    let (id, session) = server_session(&config, &backend, Some(-10 * 24 * 3600), 1).await;
    assert_eq!(dump(&router, &session).await.0["values"], json!({"a": 1}));
    assert_eq!(
        get_with_cookie(&router, "/set?b=2", &session).await.status,
        200
    );
    let created = backend.load(&id).await.unwrap().unwrap()["_created"]
        .as_i64()
        .unwrap();
    assert!(
        created <= OffsetDateTime::now_utc().unix_timestamp(),
        "stored {created}, in the future"
    );
}

/// Time arithmetic never overflows: the longest lifetimes and TTLs a config accepts work.
#[tokio::test]
async fn the_longest_durations_do_not_overflow() {
    let backend = Arc::new(MemoryBackend::new());
    let (config, _) = server_config(backend.clone(), |b| {
        b.absolute_max_age(Duration::MAX)
            .server_session_ttl(Duration::MAX)
            .rolling_refresh(Duration::MAX)
    });
    let mut client = common::Client::new(app::layered(config));
    assert_eq!(client.get("/set?a=1").await.status, 200);
    assert_eq!(client.get("/set?a=2").await.status, 200);
    assert_eq!(
        dumped(&client.get("/dump").await)["values"],
        json!({"a": 2})
    );

    let config = cookie_config(|b| {
        b.absolute_max_age(Duration::MAX)
            .session_max_age(Duration::MAX)
    });
    let mut client = common::Client::new(app::router(config));
    assert_eq!(client.get("/set?a=1").await.status, 200);
    assert_eq!(
        dumped(&client.get("/dump").await)["values"],
        json!({"a": 1})
    );
}

/// A record saved before an absolute lifetime was configured has no `_created`: its creation
/// time is taken from the id cookie's timestamp, and written into the record on its next save.
/// Otherwise a cookie signed again on every save (a sliding max age here) would move that
/// timestamp forward, and an active user would never reach the end of the lifetime.
#[tokio::test]
async fn a_record_without_creation_time_gets_one_on_its_next_save() {
    let backend = Arc::new(MemoryBackend::new());
    let (config, _) = server_config(backend.clone(), |b| {
        b.absolute_max_age(Duration::hours(1))
            .session_max_age(Duration::hours(1))
    });
    let router = app::layered(config.clone());
    let (id, session) = server_session(&config, &backend, None, 50 * 60).await;
    let reply = get_with_cookie(&router, "/set?b=2", &session).await;
    assert_eq!(reply.status, 200);
    assert!(
        reply.cookie("session").is_some(),
        "the sliding cookie is sent again"
    );
    let record = backend.load(&id).await.unwrap().unwrap();
    let created = record["_created"]
        .as_i64()
        .expect("the creation time is stored");
    assert!(
        (ago(50 * 60 + 5).unix_timestamp()..=ago(50 * 60).unix_timestamp()).contains(&created),
        "{created}: the id cookie's timestamp"
    );

    // A cookie session saved before the policy: its next save stores `_created` too.
    let config = cookie_config(|b| b.absolute_max_age(Duration::hours(1)));
    let old = cookie(&config, json!({"a": 1}), ago(50 * 60));
    let reply = get_with_cookie(&app::router(config.clone()), "/set?b=2", &old).await;
    let saved = config
        .serializer()
        .deserialize("session", &reply.cookie("session").unwrap(), None)
        .unwrap();
    assert!(saved["_created"].as_i64().unwrap() <= ago(50 * 60).unix_timestamp());
}

/// A cookie session's own lifetime: a browser-session cookie drops the configured `Max-Age`, a
/// fixed end sets what is left of it, and the server enforces both from the payload.
#[tokio::test]
async fn a_cookie_session_chooses_its_own_lifetime() {
    let config = cookie_config(|b| {
        b.cookie_args(axum_session_store::cookie::CookieArgs::default().max_age(Duration::hours(1)))
    });
    let router = app::router(config.clone());
    let mut client = common::Client::new(router.clone());
    let reply = client.get("/set?a=1").await;
    assert!(reply
        .set_cookie_header("session")
        .unwrap()
        .contains("Max-Age=3600"));
    let reply = client.get("/expiry/browser").await;
    let header = reply.set_cookie_header("session").unwrap();
    assert!(
        !header.contains("Max-Age"),
        "a browser-session cookie: {header}"
    );
    let reply = client.get("/expiry/until").await;
    let header = reply.set_cookie_header("session").unwrap();
    assert!(
        header.contains("Max-Age=3600") || header.contains("Max-Age=3599"),
        "an hour from now: {header}"
    );
    let reply = client.get("/expiry/default").await;
    assert!(reply
        .set_cookie_header("session")
        .unwrap()
        .contains("Max-Age=3600"));

    // The server reads the lifetime from the signed payload, whatever the browser keeps.
    let remember = json!({"a": 1, "_expiry": {"idle": 30 * 24 * 3600}});
    let (loaded, _) = dump(&router, &cookie(&config, remember, ago(2 * 3600))).await;
    assert_eq!(
        loaded["values"],
        json!({"a": 1}),
        "30 days idle, not the hour"
    );
    let ended = json!({"a": 1, "_expiry": {"at": ago(1).unix_timestamp()}});
    let (gone, _) = dump(&router, &cookie(&config, ended, ago(2))).await;
    assert_eq!(gone["is_new"], true, "past its end");
    let (plain, _) = dump(&router, &cookie(&config, json!({"a": 1}), ago(2 * 3600))).await;
    assert_eq!(plain["is_new"], true, "the configured hour");
}

/// webapp2's per-call max age: `get_session_with_max_age` reads a session as valid for its
/// own max age, shorter or longer than the configured one.
#[tokio::test]
async fn get_session_takes_a_max_age_per_call() {
    use axum_session_store::{SessionError, SessionStore};
    async fn read(
        store: SessionStore,
        axum::extract::Path(minutes): axum::extract::Path<i64>,
    ) -> Result<String, SessionError> {
        let session = store
            .get_session_with_max_age("session", Duration::minutes(minutes))
            .await?;
        Ok(session.is_new().to_string())
    }
    let config = cookie_config(|b| b.session_max_age(Duration::hours(1)));
    let router = axum::Router::new()
        .route("/{minutes}", axum::routing::get(read))
        .with_state(config.clone());
    let twenty_minutes_old = cookie(&config, json!({"a": 1}), ago(20 * 60));
    let new = |minutes: i64| {
        let (router, cookie) = (router.clone(), twenty_minutes_old.clone());
        async move {
            get_with_cookie(&router, &format!("/{minutes}"), &cookie)
                .await
                .body
        }
    };
    assert_eq!(new(15).await, "true", "older than 15 minutes");
    assert_eq!(new(30).await, "false");
    assert_eq!(new(600).await, "false");
}
