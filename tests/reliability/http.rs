//! The app served over TCP, and the client that drives it: hyper's HTTP/1.1 client on one
//! keep-alive connection, with a cookie jar.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use axum::http::header::{CONNECTION, COOKIE, HOST, SET_COOKIE};
use axum::http::Request;
use axum::Router;
use axum_session_store::test_util::CookieJar;
use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// A response, read whole.
#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) set_cookies: Vec<String>,
    pub(crate) body: String,
    /// The server said `Connection: close`.
    pub(crate) closing: bool,
}

/// One keep-alive connection.
pub(crate) struct HttpConn {
    sender: SendRequest<Empty<Bytes>>,
    /// Drives the connection; stopped when the client goes.
    connection: JoinHandle<()>,
}

impl HttpConn {
    pub(crate) async fn connect(addr: SocketAddr) -> io::Result<Self> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        let (sender, connection) = http1::handshake(TokioIo::new(stream))
            .await
            .map_err(io::Error::other)?;
        let connection = tokio::spawn(async move {
            let _ = connection.await;
        });
        Ok(Self { sender, connection })
    }

    /// `GET path` with the jar's cookies; the response's cookies go into the jar (a removal
    /// takes the cookie out).
    pub(crate) async fn get(&mut self, path: &str, jar: &mut CookieJar) -> io::Result<Reply> {
        self.sender.ready().await.map_err(io::Error::other)?;
        let mut request = Request::get(path).header(HOST, "127.0.0.1");
        if let Some(cookie) = jar.header() {
            request = request.header(COOKIE, cookie.clone());
        }
        let request = request.body(Empty::new()).map_err(io::Error::other)?;
        let response = self
            .sender
            .send_request(request)
            .await
            .map_err(io::Error::other)?;
        let status = response.status().as_u16();
        let closing = response
            .headers()
            .get(CONNECTION)
            .is_some_and(|value| value.as_bytes().eq_ignore_ascii_case(b"close"));
        let set_cookies = response
            .headers()
            .get_all(SET_COOKIE)
            .iter()
            .map(|value| value.to_str().map(str::to_owned).map_err(io::Error::other))
            .collect::<io::Result<Vec<_>>>()?;
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(io::Error::other)?
            .to_bytes();
        for header in &set_cookies {
            jar.store(header);
        }
        Ok(Reply {
            status,
            set_cookies,
            body: String::from_utf8(body.to_vec()).map_err(io::Error::other)?,
            closing,
        })
    }
}

impl Drop for HttpConn {
    fn drop(&mut self) {
        self.connection.abort();
    }
}

/// `app` served by `axum::serve` on a free port of 127.0.0.1, until stopped or dropped.
pub(crate) struct HttpServer {
    pub(crate) addr: SocketAddr,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl HttpServer {
    pub(crate) async fn start(app: Router) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (shutdown, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await
                .unwrap();
        });
        Self {
            addr,
            shutdown: Some(shutdown),
            task: Some(task),
        }
    }

    /// Shuts down gracefully (every client has gone by then), or aborts after 10 s.
    pub(crate) async fn stop(mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(task) = self.task.take() {
            let abort = task.abort_handle();
            if tokio::time::timeout(Duration::from_secs(10), task)
                .await
                .is_err()
            {
                abort.abort();
                panic!("the HTTP server did not shut down within 10 s");
            }
        }
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}
