//! The suite functions of a "where you're signed in" page: session metadata, the device list
//! and revoking by handle, on every server backend (run through [`crate::suite`]).

use std::net::SocketAddr;
use std::sync::atomic::Ordering;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::Request;
use axum_session_store::session::{ClientAddress, Metadata};
use serde_json::{json, Value};
use time::Duration;

use super::servers::Fixture;
use super::suite::config_with;
use super::{app, dumped, Client, Reply};

/// `GET uri` from a browser with the `User-Agent` `agent`, connected from `peer`.
async fn get_from(client: &mut Client, uri: &str, agent: &str, peer: &str) -> Reply {
    let peer: SocketAddr = peer.parse().unwrap();
    let request = Request::get(uri)
        .header("user-agent", agent)
        .extension(ConnectInfo(peer))
        .body(Body::empty())
        .unwrap();
    client.send(request).await
}

/// The device list `client` sees.
async fn devices(client: &mut Client) -> Vec<Value> {
    let reply = client.get("/device-list").await;
    assert_eq!(reply.status, 200, "{reply:?}");
    serde_json::from_str(&reply.body).unwrap()
}

fn metadata(interval: Duration) -> Metadata {
    Metadata::new()
        .last_seen_interval(interval)
        .client_address(ClientAddress::Full)
}

/// Two browsers log in as one user; each sees both, with its user agent, address and times,
/// itself marked current and no id anywhere; one labels itself and logs the other out by its
/// handle. A crawler that only reads costs no write, metadata on or not.
pub async fn a_devices_page_shows_each_browser_and_logs_one_out(fixture: &Fixture) {
    let (config, calls) = config_with(fixture, |b| b.metadata(metadata(Duration::minutes(5))));
    let router = app::layered(config.clone());
    let user = format!("ada-{}", uuid_like());

    let mut crawler = Client::new(router.clone());
    for _ in 0..3 {
        let reply = get_from(&mut crawler, "/dump", "Googlebot", "192.0.2.1:1").await;
        assert!(reply.set_cookies.is_empty(), "{reply:?}");
    }
    assert_eq!(
        calls.create.load(Ordering::SeqCst),
        0,
        "a crawler costs no record"
    );

    let mut laptop = Client::new(router.clone());
    let mut phone = Client::new(router.clone());
    let login = format!("/login-as/{user}");
    let started = time::OffsetDateTime::now_utc().unix_timestamp();
    get_from(&mut laptop, &login, "Firefox/140", "203.0.113.7:5000").await;
    get_from(&mut phone, &login, "Safari/18", "198.51.100.9:6000").await;

    let listed = devices(&mut laptop).await;
    assert_eq!(listed.len(), 2, "{listed:?}");
    let agents: Vec<&str> = listed
        .iter()
        .map(|d| d["user_agent"].as_str().unwrap())
        .collect();
    assert!(
        agents.contains(&"Firefox/140") && agents.contains(&"Safari/18"),
        "{listed:?}"
    );
    for device in &listed {
        let is_laptop = device["user_agent"] == "Firefox/140";
        assert_eq!(device["current"], is_laptop, "{device}");
        assert_eq!(
            device["client_address"],
            if is_laptop {
                "203.0.113.7"
            } else {
                "198.51.100.9"
            }
        );
        for time in ["created", "last_seen"] {
            let at = device[time]
                .as_i64()
                .unwrap_or_else(|| panic!("{time}: {device}"));
            assert!(
                (started - 2..=started + 60).contains(&at),
                "{time}: {device}"
            );
        }
        assert!(
            device["expires_at"].as_i64().unwrap() > started + 60,
            "{device}"
        );
        assert_eq!(device["handle"].as_str().unwrap().len(), 22, "{device}");
    }
    let laptop_id = super::session_id_in(&config, "session", &laptop.cookie("session")).unwrap();
    let page = serde_json::to_string(&listed).unwrap();
    assert!(
        !page.contains(laptop_id.as_str()),
        "no session id in the page"
    );

    let label = laptop.get("/label/Work%20laptop").await;
    assert_eq!(label.status, 200, "{label:?}");
    let phone_handle = listed
        .iter()
        .find(|d| d["current"] == false)
        .map(|d| d["handle"].as_str().unwrap().to_owned())
        .unwrap();
    assert_eq!(
        laptop.get(&format!("/revoke/{phone_handle}")).await.body,
        "true"
    );
    assert_eq!(
        dumped(&phone.get("/dump").await)["is_new"],
        true,
        "logged out"
    );
    let listed = devices(&mut laptop).await;
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0]["label"], "Work laptop");
    assert_eq!(listed[0]["current"], true);
    assert_eq!(
        laptop.get(&format!("/revoke/{phone_handle}")).await.body,
        "false",
        "already gone"
    );
}

/// The last-seen time (with the user agent and address) is written when a request loads a
/// session last seen an interval ago or more, and only then: reads in between write nothing.
pub async fn last_seen_is_written_at_most_once_per_interval(fixture: &Fixture) {
    let (hourly, hourly_calls) = config_with(fixture, |b| b.metadata(metadata(Duration::HOUR)));
    let (always, always_calls) = config_with(fixture, |b| b.metadata(metadata(Duration::ZERO)));
    let user = format!("ada-{}", uuid_like());
    let mut browser = Client::new(app::layered(hourly));
    get_from(
        &mut browser,
        &format!("/login-as/{user}"),
        "Firefox/1",
        "203.0.113.7:1",
    )
    .await;
    let writes = |calls: &super::counting::Calls| {
        let (_, create, apply, _) = calls.snapshot();
        create + apply
    };
    let after_login = writes(&hourly_calls);
    for _ in 0..3 {
        let reply = get_from(&mut browser, "/dump", "Firefox/2", "203.0.113.8:1").await;
        assert_eq!(reply.status, 200, "{reply:?}");
    }
    assert_eq!(
        writes(&hourly_calls),
        after_login,
        "reads within the interval write nothing"
    );
    let listed = devices(&mut browser).await;
    assert_eq!(
        (&listed[0]["user_agent"], &listed[0]["client_address"]),
        (&json!("Firefox/1"), &json!("203.0.113.7"))
    );

    // The same sessions under a config whose interval has always passed.
    let jar = browser.jar.clone();
    let mut browser = Client::new(app::layered(always));
    browser.jar = jar;
    let reply = get_from(&mut browser, "/dump", "Firefox/3", "203.0.113.9:1").await;
    assert_eq!(dumped(&reply)["is_new"], false);
    assert_eq!(writes(&always_calls), 1, "one write: the last-seen time");
    let listed = devices(&mut browser).await;
    assert_eq!(
        (&listed[0]["user_agent"], &listed[0]["client_address"]),
        (&json!("Firefox/3"), &json!("203.0.113.9"))
    );
    assert_eq!(
        dumped(&reply)["values"],
        json!({}),
        "no metadata among the values"
    );
}

/// A string no other test (or earlier run) uses.
fn uuid_like() -> String {
    axum_session_store::SessionId::generate()
        .unwrap()
        .as_str()
        .to_owned()
}
