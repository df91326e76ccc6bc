//! The suite function of lifecycle events, on every server backend (run through
//! [`crate::suite`]).

use std::sync::Arc;

use axum_session_store::session::{EventKind, RejectionReason, SessionHandle};

use super::recorder::Recorder;
use super::servers::Fixture;
use super::suite::config_with;
use super::{app, get_with_cookie, Client};

/// The handle `client`'s session has now.
async fn handle_of(client: &mut Client) -> SessionHandle {
    client.get("/handle").await.body.parse().expect("a handle")
}

/// A session's life, each step told once it is durable, by handle, in order: created, moved at
/// login and tied to a user, another device created and revoked, its next request finding it
/// ended, a logout, a forged cookie, and a login that lost the race to a logout (a conflict).
pub async fn lifecycle_events_follow_each_durable_change(fixture: &Fixture) {
    let recorder = Recorder::default();
    let (config, _) = config_with(fixture, |b| b.events(recorder.clone()));
    let router = app::layered(config.clone());
    let user = format!(
        "ada-{}",
        axum_session_store::SessionId::generate().unwrap().as_str()
    );
    let kinds = |events: &[axum_session_store::session::SessionEvent]| {
        events.iter().map(|e| e.kind.clone()).collect::<Vec<_>>()
    };

    let mut laptop = Client::new(router.clone());
    laptop.get("/set?cart=1").await;
    let first = handle_of(&mut laptop).await;
    let events = recorder.take_exactly(1).await;
    assert_eq!(kinds(&events), [EventKind::Created]);
    assert_eq!(events[0].handle.as_ref(), Some(&first));
    assert_eq!(events[0].session, "session");

    laptop.get(&format!("/login-as/{user}")).await;
    let laptop_handle = handle_of(&mut laptop).await;
    let events = recorder.take_exactly(2).await;
    assert_eq!(
        kinds(&events),
        [
            EventKind::Regenerated {
                previous: first.clone()
            },
            EventKind::UserSet
        ]
    );
    assert!(events
        .iter()
        .all(|e| e.handle.as_ref() == Some(&laptop_handle)));

    let mut phone = Client::new(router.clone());
    phone.get(&format!("/login-as/{user}")).await;
    let phone_handle = handle_of(&mut phone).await;
    let events = recorder.take_exactly(2).await;
    assert_eq!(kinds(&events), [EventKind::Created, EventKind::UserSet]);

    assert_eq!(
        laptop.get(&format!("/revoke/{phone_handle}")).await.body,
        "true"
    );
    let events = recorder.take_exactly(1).await;
    assert_eq!(
        kinds(&events),
        [EventKind::Revoked {
            by: Some(laptop_handle.clone())
        }]
    );
    assert_eq!(events[0].handle.as_ref(), Some(&phone_handle));
    phone.get("/dump").await;
    let events = recorder.take_exactly(1).await;
    assert_eq!(kinds(&events), [EventKind::Expired]);
    assert_eq!(events[0].handle.as_ref(), Some(&phone_handle));

    laptop.get("/invalidate").await;
    let events = recorder.take_exactly(1).await;
    assert_eq!(kinds(&events), [EventKind::Invalidated]);
    assert_eq!(events[0].handle.as_ref(), Some(&laptop_handle));

    get_with_cookie(&router, "/dump", "session=forged|1|00").await;
    let events = recorder.take_exactly(1).await;
    assert!(
        matches!(
            kinds(&events)[..],
            [EventKind::CookieRejected {
                reason: RejectionReason::BadSignature | RejectionReason::Malformed
            }]
        ),
        "{events:?}"
    );
    assert_eq!(events[0].handle, None);

    // A login paused between its load and its save, while a logout of the same session runs.
    let pause = Arc::new(app::Pause::default());
    let router = app::layered_with_pause(config.clone(), pause.clone());
    let mut browser = Client::new(router.clone());
    browser.get("/set?a=1").await;
    let racing = handle_of(&mut browser).await;
    let cookie = format!("session={}", browser.cookie("session"));
    recorder.take_exactly(1).await;
    let login = tokio::spawn({
        let (router, cookie) = (router.clone(), cookie.clone());
        async move { get_with_cookie(&router, "/login-paused", &cookie).await }
    });
    pause.reached.notified().await;
    get_with_cookie(&router, "/invalidate", &cookie).await;
    pause.resume.notify_one();
    assert_eq!(login.await.unwrap().status, 409);
    let events = recorder.take_exactly(2).await;
    assert_eq!(
        kinds(&events),
        [EventKind::Invalidated, EventKind::Conflict]
    );
    assert!(events.iter().all(|e| e.handle.as_ref() == Some(&racing)));
    assert_eq!(config.dropped_events(), 0);
}
