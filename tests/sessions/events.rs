//! Lifecycle events that no backend suite covers: a failed save tells nothing, a slow or
//! panicking handler neither slows nor fails a request (its overflow is counted), and cookie
//! sessions report refused and ended cookies. (Every server backend runs
//! `lifecycle_events_follow_each_durable_change` in the backend suite.)

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration as StdDuration, Instant};

use axum::routing::get;
use axum::Router;
use axum_session_store::backend::Storage;
use axum_session_store::session::{EventKind, RejectionReason, SessionEvent, SessionEvents};
use axum_session_store::{Session, SessionConfig};
use time::Duration;

use axum_session_store::test_util::session_cookie;

use crate::common::failing_writes::FailingWrites;
use crate::common::recorder::Recorder;
use crate::common::{get_with_cookie, Client, SECRET};

async fn set(session: Session) -> Result<Session, axum_session_store::SessionError> {
    session.insert("n", 1)?;
    Ok(session)
}

fn app(config: SessionConfig) -> Router {
    Router::new()
        .route("/set", get(set))
        .layer(config.layer())
        .with_state(config)
}

#[tokio::test]
async fn a_failed_save_tells_nothing() {
    let recorder = Recorder::default();
    let config = SessionConfig::builder()
        .secret_key(SECRET)
        .default_backend(Storage::server(FailingWrites::default()))
        .events(recorder.clone())
        .build()
        .unwrap();
    let mut client = Client::new(app(config));
    assert_eq!(client.get("/set").await.status, 500);
    tokio::time::sleep(StdDuration::from_millis(200)).await;
    assert_eq!(recorder.events(), Vec::new(), "no record was created");
}

/// Panics on its first event, then takes a second per event.
#[derive(Debug, Default)]
struct Stuck {
    calls: AtomicUsize,
}

impl SessionEvents for Stuck {
    async fn handle(&self, _: SessionEvent) {
        if self.calls.fetch_add(1, Ordering::SeqCst) == 0 {
            panic!("the audit database is down");
        }
        tokio::time::sleep(StdDuration::from_secs(1)).await;
    }
}

#[tokio::test]
async fn a_slow_or_panicking_handler_never_slows_a_request_and_its_overflow_is_counted() {
    let stuck = Arc::new(Stuck::default());
    let config = SessionConfig::builder()
        .secret_key(SECRET)
        .default_backend(axum_session_store::backend::MemoryBackend::new())
        .events(stuck.clone())
        .event_buffer(4)
        .build()
        .unwrap();
    let router = app(config.clone());
    let started = Instant::now();
    for _ in 0..40 {
        // A new visitor each time: one `created` event each.
        let reply = Client::new(router.clone()).get("/set").await;
        assert_eq!(reply.status, 200, "{reply:?}");
    }
    assert!(
        started.elapsed() < StdDuration::from_secs(5),
        "40 requests took {:?}",
        started.elapsed()
    );
    tokio::time::sleep(StdDuration::from_millis(100)).await;
    let (called, dropped) = (stuck.calls.load(Ordering::SeqCst), config.dropped_events());
    assert!(
        called >= 2,
        "the panic did not stop the delivery: {called} calls"
    );
    assert!(
        (20..=38).contains(&dropped),
        "a buffer of 4 (plus the event in hand) holds the rest: {dropped} dropped, {called} called"
    );
}

#[tokio::test]
async fn cookie_sessions_report_refused_and_ended_cookies() {
    let recorder = Recorder::default();
    let config = SessionConfig::builder()
        .secret_key(SECRET)
        .session_max_age(Duration::seconds(1))
        .events(recorder.clone())
        .build()
        .unwrap();
    let router = app(config.clone());
    // Well formed, signed with another app's key.
    let other = SessionConfig::builder()
        .secret_key(b"another app's secret, 32 bytes long")
        .build()
        .unwrap();
    let forged = session_cookie(&other, "session", [("admin", true)])
        .await
        .unwrap();
    get_with_cookie(&router, "/set", &format!("session={forged}")).await;
    let events = recorder.take_exactly(1).await;
    assert_eq!(
        events[0].kind,
        EventKind::CookieRejected {
            reason: RejectionReason::BadSignature
        }
    );
    assert_eq!(
        (
            events[0].session.as_str(),
            events[0].backend.as_str(),
            &events[0].handle
        ),
        ("session", "securecookie", &None)
    );

    let mut client = Client::new(router);
    client.get("/set").await;
    assert_eq!(
        recorder.events(),
        Vec::new(),
        "a cookie session's save tells nothing"
    );
    tokio::time::sleep(StdDuration::from_millis(2100)).await;
    client.get("/set").await;
    let events = recorder.take_exactly(1).await;
    assert!(
        matches!(
            events[0].kind,
            EventKind::Expired
                | EventKind::CookieRejected {
                    reason: RejectionReason::Expired
                }
        ),
        "{events:?}"
    );
}
