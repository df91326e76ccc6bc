//! A backend behind a network partition ([`BlackholeProxy`]): a request answers 503 within
//! the backend's timeout, and requests work again once the partition heals.

use std::net::{SocketAddr, ToSocketAddrs};
use std::time::{Duration as StdDuration, Instant};

use axum_session_store::backend::{Batching, UserIndex};
use serde_json::json;

use super::blackhole::BlackholeProxy;
use super::servers::Fixture;
use super::{app, dumped, Client};

/// The timeout the backends under test get.
pub const TIMEOUT: time::Duration = time::Duration::seconds(1);

/// The longest a request may take: the timeout, and room for a busy machine.
const BOUND: StdDuration = StdDuration::from_secs(3);

/// The `host:port` part of `url` (`scheme://[user@]host:port[/...]`) and where it starts.
fn authority(url: &str) -> (usize, &str) {
    let start = url.find("://").unwrap() + 3;
    let rest = &url[start..];
    let host = rest.find('@').map_or(0, |at| at + 1);
    let end = rest[host..]
        .find('/')
        .map_or(rest.len(), |slash| host + slash);
    (start + host, &rest[host..end])
}

/// The address of the server `url` names.
pub fn upstream(url: &str) -> SocketAddr {
    let (_, host_port) = authority(url);
    host_port.to_socket_addrs().unwrap().next().unwrap()
}

/// `url`, through `proxy`.
pub fn through(url: &str, proxy: &BlackholeProxy) -> String {
    let (start, host_port) = authority(url);
    format!(
        "{}{}{}",
        &url[..start],
        proxy.host_port(),
        &url[start + host_port.len()..]
    )
}

/// Sends a request with `client` and checks it answers `status` within [`BOUND`].
async fn answers(client: &mut Client, uri: &str, status: u16, phase: &str) -> super::Reply {
    let started = Instant::now();
    let reply = client.get(uri).await;
    let elapsed = started.elapsed();
    assert_eq!(
        reply.status.as_u16(),
        status,
        "{phase}: GET {uri}: {reply:?}"
    );
    assert!(elapsed < BOUND, "{phase}: GET {uri} took {elapsed:?}");
    reply
}

/// `backend`, whose server is reached through `proxy` and which has the timeout [`TIMEOUT`]:
/// a session is saved; then, the proxy black, loads and creates (more of them than a pool of
/// two connections holds) answer `503 Service Unavailable` within [`BOUND`]; healed, every
/// request succeeds again, the session as it was. `settled` tells when the backend has
/// nothing in flight (its connections idle), so that the partition starts between requests.
pub async fn answers_503_in_time_and_heals(
    backend: impl Batching + UserIndex,
    proxy: &BlackholeProxy,
    settled: impl Fn() -> bool,
) {
    let (config, _) = super::suite::config_for(&Fixture::new(backend));
    let router = app::layered(config);
    let mut client = Client::new(router.clone());
    answers(&mut client, "/set?a=1", 200, "before").await;
    let started = Instant::now();
    while !settled() {
        assert!(started.elapsed() < BOUND, "the backend never settled");
        tokio::time::sleep(StdDuration::from_millis(10)).await;
    }

    proxy.go_black();
    for _ in 0..2 {
        let reply = answers(&mut client, "/dump", 503, "black: load").await;
        assert_eq!(reply.body, "Service Unavailable");
        let mut stranger = Client::new(router.clone());
        let reply = answers(&mut stranger, "/set?b=2", 503, "black: create").await;
        assert!(reply.set_cookies.is_empty(), "{reply:?}");
    }

    proxy.heal();
    for _ in 0..4 {
        let reply = answers(&mut client, "/dump", 200, "healed").await;
        assert_eq!(dumped(&reply)["values"], json!({"a": 1}));
    }
    answers(&mut client, "/set?c=3", 200, "healed").await;
    let reply = answers(&mut client, "/dump", 200, "healed").await;
    assert_eq!(dumped(&reply)["values"], json!({"a": 1, "c": 3}));
}
