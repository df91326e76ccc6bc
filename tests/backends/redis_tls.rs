//! Redis over TLS (feature `redis-tls-rustls`): a private `redis-server` with a TLS port and a
//! certificate from a throwaway CA, which the client trusts; a client that does not trust it
//! gets an error, never a session.
#![cfg(feature = "redis-tls-rustls")]

use std::path::Path;
use std::process::Command;

use axum_session_store::backend::RedisBackend;
use axum_session_store::SessionConfig;
use deadpool_redis::redis::{self, TlsCertificates};
use deadpool_redis::{Manager, Pool, Runtime};

use crate::common::private_redis::{free_port, PrivateRedis};
use crate::common::{app, dumped, servers, Client, SECRET};

/// Removes its directory when dropped, even when the test fails.
struct RemoveDir(std::path::PathBuf);

impl Drop for RemoveDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A CA and a certificate for 127.0.0.1 signed by it, in `dir`; false when `openssl` is
/// missing.
fn make_certificates(dir: &Path) -> bool {
    let openssl = |args: &[&str]| {
        Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .map(|output| assert!(output.status.success(), "openssl {args:?}: {output:?}"))
    };
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    let ca = [
        &["req", "-x509"][..],
        &ec,
        &["-keyout", "ca.key", "-out", "ca.crt"],
    ]
    .concat();
    if openssl(
        &[
            &ca[..],
            &["-days", "1", "-subj", "/CN=axum-session-store test CA"],
        ]
        .concat(),
    )
    .is_err()
    {
        return false;
    }
    std::fs::write(dir.join("san.ext"), "subjectAltName=IP:127.0.0.1\n").unwrap();
    let request = [
        &["req"][..],
        &ec,
        &["-keyout", "server.key", "-out", "server.csr"],
    ]
    .concat();
    openssl(&[&request[..], &["-subj", "/CN=127.0.0.1"]].concat()).unwrap();
    openssl(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.crt",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.crt",
        "-days",
        "1",
        "-extfile",
        "san.ext",
    ])
    .unwrap();
    true
}

/// A pool on `url` that trusts `root_cert` (PEM), or the system's roots when `None`.
fn pool(url: &str, root_cert: Option<Vec<u8>>) -> Pool {
    let client = redis::Client::build_with_tls(
        url,
        TlsCertificates {
            client_tls: None,
            root_cert,
        },
    )
    .unwrap();
    let manager = Manager::new(client.get_connection_info().clone()).unwrap();
    Pool::builder(manager)
        .runtime(Runtime::Tokio1)
        .max_size(4)
        .wait_timeout(Some(std::time::Duration::from_secs(5)))
        .create_timeout(Some(std::time::Duration::from_secs(5)))
        .build()
        .unwrap()
}

fn config_on(pool: Pool) -> SessionConfig {
    SessionConfig::builder()
        .secret_key(SECRET)
        .default_backend(RedisBackend::new(pool).key_prefix("tls-test:"))
        .build()
        .unwrap()
}

#[tokio::test]
async fn sessions_over_tls_and_an_untrusted_server_is_an_error() {
    let dir = std::env::temp_dir().join(servers::unique_name("axum_session_store_tls"));
    std::fs::create_dir(&dir).unwrap();
    let _remove = RemoveDir(dir.clone());
    if !make_certificates(&dir) {
        if servers::servers_required() {
            panic!("openssl is required for the Redis TLS test (SESSION_TESTS_REQUIRE_SERVERS=1)");
        }
        eprintln!("skipped: openssl is not installed");
        return;
    }
    let tls_port = free_port();
    let file = |name: &str| dir.join(name).to_string_lossy().into_owned();
    let Some(_server) = PrivateRedis::start_with(
        false,
        vec![
            "--tls-port".into(),
            tls_port.to_string(),
            "--tls-cert-file".into(),
            file("server.crt"),
            "--tls-key-file".into(),
            file("server.key"),
            "--tls-ca-cert-file".into(),
            file("ca.crt"),
            "--tls-auth-clients".into(),
            "no".into(),
        ],
    ) else {
        return;
    };
    let url = format!("rediss://127.0.0.1:{tls_port}");
    let ca = std::fs::read(dir.join("ca.crt")).unwrap();

    let mut client = Client::new(app::layered(config_on(pool(&url, Some(ca)))));
    assert_eq!(client.get("/set?user=ada").await.status, 200);
    assert_eq!(
        dumped(&client.get("/dump").await)["values"],
        serde_json::json!({"user": "ada"})
    );

    // The system's roots do not include the throwaway CA: the handshake fails, and so does
    // the request, without a cookie.
    let mut untrusting = Client::new(app::layered(config_on(pool(&url, None))));
    let reply = untrusting.get("/set?user=eve").await;
    assert_eq!(reply.status, 500, "{reply:?}");
    assert!(reply.set_cookies.is_empty());
}
