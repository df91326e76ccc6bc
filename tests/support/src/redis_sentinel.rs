//! A private Sentinel deployment for tests: a master, a replica and three sentinels
//! (`redis-server --sentinel`), each on free loopback ports in a directory of its own, all
//! killed (and the directories removed) on drop, even when a test fails.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::private_redis::free_ports;
use super::redis_cluster::{command, wait_until};
use super::servers;

/// The name the sentinels monitor the master under.
pub const MASTER_NAME: &str = "sessions";

/// How long the sentinels wait before they call the master down, in milliseconds.
pub const DOWN_AFTER_MS: u64 = 5000;

/// One process of the deployment.
struct Process {
    port: u16,
    dir: PathBuf,
    child: Option<Child>,
}

impl Process {
    fn new(port: u16) -> Self {
        let dir = std::env::temp_dir().join(servers::unique_name("axum_session_sentinel"));
        std::fs::create_dir(&dir).unwrap();
        Self {
            port,
            dir,
            child: None,
        }
    }

    fn spawn(&mut self, args: &[String]) {
        let child = Command::new("redis-server")
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting redis-server");
        self.child = Some(child);
        wait_until(Duration::from_secs(20), "a process answers PING", || {
            command(self.port, &["PING"]).is_some_and(|reply| reply.contains("PONG"))
        });
    }

    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A master, its replica, and three sentinels watching them.
pub struct RedisSentinel {
    /// The master first, then the replica; after a failover the roles are swapped.
    servers: Vec<Process>,
    sentinels: Vec<Process>,
}

impl RedisSentinel {
    /// Starts one and waits until the sentinels know the master and its replica, and the
    /// replica is in sync; `None` after a "skipped:" line when `redis-server` is missing (a
    /// failure under `SESSION_TESTS_REQUIRE_SERVERS=1`).
    pub fn start() -> Option<Self> {
        if let Err(error) = Command::new("redis-server").arg("--version").output() {
            if servers::servers_required() {
                panic!("redis-server is required (SESSION_TESTS_REQUIRE_SERVERS=1): {error}");
            }
            eprintln!("skipped: redis-server is not installed ({error})");
            return None;
        }
        let ports = free_ports(5);
        let mut deployment = Self {
            servers: ports[..2].iter().map(|&port| Process::new(port)).collect(),
            sentinels: ports[2..].iter().map(|&port| Process::new(port)).collect(),
        };
        let master_port = deployment.servers[0].port;
        for (index, server) in deployment.servers.iter_mut().enumerate() {
            let mut args = server_args(server);
            if index == 1 {
                args.extend([
                    "--replicaof".into(),
                    "127.0.0.1".into(),
                    master_port.to_string(),
                ]);
            }
            server.spawn(&args);
        }
        for sentinel in &mut deployment.sentinels {
            let config = sentinel.dir.join("sentinel.conf");
            std::fs::write(
                &config,
                format!(
                    "port {port}\nbind 127.0.0.1\ndir {dir}\n\
                     sentinel monitor {MASTER_NAME} 127.0.0.1 {master_port} 2\n\
                     sentinel down-after-milliseconds {MASTER_NAME} {DOWN_AFTER_MS}\n\
                     sentinel failover-timeout {MASTER_NAME} 10000\n\
                     sentinel parallel-syncs {MASTER_NAME} 1\n",
                    port = sentinel.port,
                    dir = sentinel.dir.display(),
                ),
            )
            .unwrap();
            sentinel.spawn(&[config.to_string_lossy().into_owned(), "--sentinel".into()]);
        }
        deployment.wait_until_replicated();
        Some(deployment)
    }

    /// The sentinels' URLs, for a sentinel client.
    pub fn sentinel_urls(&self) -> Vec<String> {
        self.sentinels
            .iter()
            .map(|sentinel| format!("redis://127.0.0.1:{}", sentinel.port))
            .collect()
    }

    /// The port of the server every sentinel calls master now, if they agree.
    pub fn master_port(&self) -> Option<u16> {
        let mut ports = self.sentinels.iter().filter_map(|sentinel| {
            let reply = command(
                sentinel.port,
                &["SENTINEL", "GET-MASTER-ADDR-BY-NAME", MASTER_NAME],
            )?;
            reply.lines().nth(2)?.parse::<u16>().ok()
        });
        let first = ports.next()?;
        ports.all(|port| port == first).then_some(first)
    }

    /// Waits until the master has a replica in sync that every sentinel knows.
    pub fn wait_until_replicated(&self) {
        wait_until(Duration::from_secs(60), "the replica is in sync", || {
            let Some(master) = self.master_port() else {
                return false;
            };
            let synced = command(master, &["INFO", "replication"])
                .is_some_and(|info| info.contains("connected_slaves:1") && info.contains("online"));
            synced
                && self.sentinels.iter().all(|sentinel| {
                    command(sentinel.port, &["SENTINEL", "REPLICAS", MASTER_NAME])
                        .is_some_and(|reply| reply.contains("slave"))
                })
        });
    }

    /// Kills the current master (SIGKILL) and returns once it is gone.
    pub fn kill_master(&mut self) -> u16 {
        let port = self.master_port().expect("a master");
        let master = self
            .servers
            .iter_mut()
            .find(|server| server.port == port)
            .expect("the master is one of ours");
        master.kill();
        port
    }

    /// Waits until the sentinels have promoted another server than `old`, and it answers.
    pub fn wait_for_new_master(&self, old: u16) -> u16 {
        let mut new = 0;
        wait_until(
            Duration::from_secs(60),
            "the sentinels promote the replica",
            || match self.master_port() {
                Some(port) if port != old => {
                    new = port;
                    command(port, &["ROLE"])
                        .is_some_and(|role| role.lines().nth(1) == Some("master"))
                }
                _ => false,
            },
        );
        new
    }

    /// Starts the killed server again, as a replica of the new master (the sentinels
    /// reconfigure it).
    pub fn restart_killed(&mut self, new_master: u16) {
        let server = self
            .servers
            .iter_mut()
            .find(|server| server.child.is_none())
            .expect("a killed server");
        let mut args = server_args(server);
        args.extend([
            "--replicaof".into(),
            "127.0.0.1".into(),
            new_master.to_string(),
        ]);
        server.spawn(&args);
    }
}

fn server_args(server: &Process) -> Vec<String> {
    vec![
        "--port".into(),
        server.port.to_string(),
        "--bind".into(),
        "127.0.0.1".into(),
        "--save".into(),
        String::new(),
        "--appendonly".into(),
        "no".into(),
        "--dir".into(),
        server.dir.to_string_lossy().into_owned(),
    ]
}

impl Drop for RedisSentinel {
    fn drop(&mut self) {
        for process in self.servers.iter_mut().chain(&mut self.sentinels) {
            process.kill();
            let _ = std::fs::remove_dir_all(&process.dir);
        }
    }
}
