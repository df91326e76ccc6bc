//! A private `redis-server` child for fault tests, so they can stop and restart Redis without
//! touching the shared server on 6379: on a free port, in a directory of its own, killed (and
//! the directory removed) on drop, even when a test fails.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::servers;

pub struct PrivateRedis {
    pub port: u16,
    dir: PathBuf,
    /// Every acknowledged write is on disk first (`appendfsync always`), so it survives a kill.
    durable: bool,
    /// More `redis-server` arguments (TLS settings, say).
    extra_args: Vec<String>,
    child: Option<Child>,
}

impl PrivateRedis {
    /// Starts one, or returns `None` after a "skipped:" line when `redis-server` is not installed
    /// (a failure instead under `SESSION_TESTS_REQUIRE_SERVERS=1`).
    pub fn start(durable: bool) -> Option<Self> {
        Self::start_with(durable, Vec::new())
    }

    /// [`start`](Self::start), with `extra_args` on the server's command line.
    pub fn start_with(durable: bool, extra_args: Vec<String>) -> Option<Self> {
        if let Err(error) = Command::new("redis-server").arg("--version").output() {
            if servers::servers_required() {
                panic!("redis-server is required (SESSION_TESTS_REQUIRE_SERVERS=1): {error}");
            }
            eprintln!("skipped: redis-server is not installed ({error})");
            return None;
        }
        let mut last_error = None;
        for _ in 0..5 {
            let dir = std::env::temp_dir().join(servers::unique_name("axum_session_store_redis"));
            std::fs::create_dir(&dir).unwrap();
            let mut server = Self {
                port: free_port(),
                dir,
                durable,
                extra_args: extra_args.clone(),
                child: None,
            };
            match server.spawn() {
                Ok(()) => return Some(server),
                Err(error) => last_error = Some(error),
            }
        }
        panic!("could not start redis-server: {last_error:?}");
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Starts the server (again) on the same port and directory, and waits until it answers
    /// PING, after loading its append-only file when durable.
    pub fn spawn(&mut self) -> Result<(), String> {
        let persistence: &[&str] = if self.durable {
            &["--appendonly", "yes", "--appendfsync", "always"]
        } else {
            &["--appendonly", "no"]
        };
        let child = Command::new("redis-server")
            .args([
                "--port",
                &self.port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
            ])
            .args(persistence)
            .args(&self.extra_args)
            .arg("--dir")
            .arg(&self.dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| e.to_string())?;
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if ping(self.port) {
                return Ok(());
            }
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                self.child = None;
                return Err(format!("redis-server exited: {status}"));
            }
            if Instant::now() > deadline {
                self.kill();
                return Err("redis-server did not answer within 20 s".into());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGKILL: the server has no chance to write anything more.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

pub fn free_port() -> u16 {
    free_ports(1)[0]
}

/// `n` distinct free loopback ports: all are held while they are chosen, so none is chosen
/// twice (as one at a time could be, once its listener is closed).
pub fn free_ports(n: usize) -> Vec<u16> {
    let listeners: Vec<TcpListener> = (0..n)
        .map(|_| TcpListener::bind("127.0.0.1:0").unwrap())
        .collect();
    listeners
        .iter()
        .map(|listener| listener.local_addr().unwrap().port())
        .collect()
}

/// Whether a Redis on `port` answers PING (blocking, short timeouts). A server still loading
/// its data answers `-LOADING`, which is not a PONG.
fn ping(port: u16) -> bool {
    let attempt = || -> std::io::Result<bool> {
        let mut stream = TcpStream::connect(("127.0.0.1", port))?;
        stream.set_read_timeout(Some(Duration::from_millis(500)))?;
        stream.write_all(b"PING\r\n")?;
        let mut reply = [0u8; 7];
        stream.read_exact(&mut reply)?;
        Ok(&reply == b"+PONG\r\n")
    };
    attempt().unwrap_or(false)
}
