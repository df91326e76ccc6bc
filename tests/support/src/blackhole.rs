//! A TCP proxy on a free loopback port that can be switched into a black hole: while it is
//! black, it keeps every socket open but forwards nothing either way, as an expired NAT entry
//! or a network partition does (no RST, no FIN: the peers just stop hearing each other).
//! Switched back, new data flows again on the same sockets.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// The proxy; dropped, it stops accepting and closes every socket it holds.
pub struct BlackholeProxy {
    addr: SocketAddr,
    black: Arc<AtomicBool>,
    accept: JoinHandle<()>,
}

impl BlackholeProxy {
    /// A proxy to `upstream` (a loopback address), forwarding until [`Self::go_black`].
    pub async fn start(upstream: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let black = Arc::new(AtomicBool::new(false));
        let flag = black.clone();
        let accept = tokio::spawn(async move {
            let mut pumps = Vec::new();
            while let Ok((client, _)) = listener.accept().await {
                let Ok(server) = TcpStream::connect(upstream).await else {
                    continue;
                };
                let (client_read, client_write) = client.into_split();
                let (server_read, server_write) = server.into_split();
                pumps.push(AbortOnDrop(tokio::spawn(pump(
                    client_read,
                    server_write,
                    flag.clone(),
                ))));
                pumps.push(AbortOnDrop(tokio::spawn(pump(
                    server_read,
                    client_write,
                    flag.clone(),
                ))));
            }
        });
        Self {
            addr,
            black,
            accept,
        }
    }

    /// The address clients connect to.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `host:port` of [`Self::addr`], for URLs.
    pub fn host_port(&self) -> String {
        self.addr.to_string()
    }

    /// From now on, everything sent either way is swallowed; sockets stay open.
    pub fn go_black(&self) {
        self.black.store(true, Ordering::SeqCst);
    }

    /// From now on, data flows again (what was swallowed meanwhile is lost).
    pub fn heal(&self) {
        self.black.store(false, Ordering::SeqCst);
    }
}

impl Drop for BlackholeProxy {
    fn drop(&mut self) {
        // Aborting the accept loop drops its pumps, which closes every proxied socket.
        self.accept.abort();
    }
}

struct AbortOnDrop(JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Copies `from` to `to` while the proxy forwards; swallows what arrives while it is black.
async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    black: Arc<AtomicBool>,
) {
    let mut buffer = vec![0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buffer).await {
            Ok(0) | Err(_) => {
                // The peer closed: while black, say nothing (a partition hides it too).
                while black.load(Ordering::SeqCst) {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                let _ = to.shutdown().await;
                return;
            }
            Ok(n) => n,
        };
        if black.load(Ordering::SeqCst) {
            continue;
        }
        if to.write_all(&buffer[..n]).await.is_err() {
            return;
        }
    }
}
