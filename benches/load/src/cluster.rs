//! A Redis Cluster of the benchmark's own: three masters from `redis-server`
//! (`--cluster-enabled yes`) on free loopback ports, joined by `redis-cli --cluster create`,
//! each in a directory of its own; killed, and the directories removed, on drop.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

/// How many masters (no replicas: a benchmark measures the masters' work).
const MASTERS: usize = 3;

/// Numbers the clusters of one invocation, so each starts in fresh directories.
static STARTED: AtomicU64 = AtomicU64::new(0);

pub struct Cluster {
    ports: Vec<u16>,
    nodes: Vec<Child>,
    dirs: Vec<PathBuf>,
}

impl Cluster {
    /// Starts the nodes, joins them, and waits until every slot is served.
    pub fn start(run_id: &str) -> Result<Self, String> {
        // Bound all at once, so no two are the same; released just before the nodes bind.
        let listeners: Vec<TcpListener> = (0..2 * MASTERS)
            .map(|_| TcpListener::bind("127.0.0.1:0").map_err(|e| format!("free port: {e}")))
            .collect::<Result<_, _>>()?;
        let ports: Vec<u16> = listeners
            .iter()
            .map(|l| l.local_addr().map(|a| a.port()).map_err(|e| e.to_string()))
            .collect::<Result<_, _>>()?;
        drop(listeners);
        let mut cluster = Self {
            ports: ports.chunks(2).map(|pair| pair[0]).collect(),
            nodes: Vec::new(),
            dirs: Vec::new(),
        };
        let started = STARTED.fetch_add(1, Relaxed);
        for (n, pair) in ports.chunks(2).enumerate() {
            let dir = std::env::temp_dir().join(format!("bench_cluster_{run_id}_{started}_{n}"));
            std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
            cluster.dirs.push(dir.clone());
            let child = Command::new("redis-server")
                .args(["--port", &pair[0].to_string()])
                .args(["--cluster-port", &pair[1].to_string()])
                .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
                .args([
                    "--cluster-enabled",
                    "yes",
                    "--cluster-config-file",
                    "nodes.conf",
                ])
                .arg("--dir")
                .arg(&dir)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .map_err(|e| format!("starting redis-server: {e}"))?;
            cluster.nodes.push(child);
        }
        for &port in &cluster.ports {
            wait_until(|| cli(port, &["PING"]).is_some_and(|r| r.contains("PONG")))
                .map_err(|_| format!("cluster node on port {port} did not answer PING"))?;
        }
        let mut create = Command::new("redis-cli");
        create.args(["--cluster", "create"]);
        for port in &cluster.ports {
            create.arg(format!("127.0.0.1:{port}"));
        }
        let output = create
            .args(["--cluster-replicas", "0", "--cluster-yes"])
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("redis-cli --cluster create: {e}"))?;
        if !output.status.success() {
            return Err(format!(
                "redis-cli --cluster create: {}",
                String::from_utf8_lossy(&output.stdout)
            ));
        }
        for &port in &cluster.ports {
            wait_until(|| {
                cli(port, &["CLUSTER", "INFO"]).is_some_and(|r| r.contains("cluster_state:ok"))
            })
            .map_err(|_| "the cluster did not come to serve every slot".to_owned())?;
        }
        Ok(cluster)
    }

    /// The masters' URLs.
    pub fn urls(&self) -> Vec<String> {
        self.ports
            .iter()
            .map(|port| format!("redis://127.0.0.1:{port}"))
            .collect()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for node in &mut self.nodes {
            let _ = node.kill();
            let _ = node.wait();
        }
        for dir in &self.dirs {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// `redis-cli -p port args...`'s output, if it ran.
fn cli(port: u16, args: &[&str]) -> Option<String> {
    let output = Command::new("redis-cli")
        .args(["-h", "127.0.0.1", "-p", &port.to_string()])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).into_owned())
}

/// Polls `ready` every 100 ms for up to 30 s.
fn wait_until(mut ready: impl FnMut() -> bool) -> Result<(), ()> {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if ready() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Err(())
}
