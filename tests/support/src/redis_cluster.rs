//! A private Redis Cluster for tests: three masters and three replicas from `redis-server`
//! (`--cluster-enabled yes`) on free loopback ports, joined by `redis-cli --cluster create`,
//! each node in a directory of its own; every node is killed (and the directories removed) on
//! drop, even when a test fails.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::private_redis::free_ports;
use super::servers;

/// How long a node may be unreachable before the cluster fails it over, in milliseconds: long
/// enough that a test sees the outage, short enough that it does not wait long for the end.
pub const NODE_TIMEOUT_MS: u64 = 5000;

/// One `redis-server` of the cluster.
pub struct Node {
    pub port: u16,
    bus_port: u16,
    dir: PathBuf,
    child: Option<Child>,
}

impl Node {
    fn spawn(&mut self) {
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string()])
            .args(["--cluster-port", &self.bus_port.to_string()])
            .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .args([
                "--cluster-enabled",
                "yes",
                "--cluster-config-file",
                "nodes.conf",
            ])
            .args(["--cluster-node-timeout", &NODE_TIMEOUT_MS.to_string()])
            // A replica may take over however long ago it last heard from its master: a
            // cluster made a moment before a test's failover has no history to go by.
            .args(["--cluster-replica-validity-factor", "0"])
            .arg("--dir")
            .arg(&self.dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting redis-server");
        self.child = Some(child);
        wait_until(
            Duration::from_secs(20),
            "a cluster node answers PING",
            || command(self.port, &["PING"]).is_some_and(|reply| reply.contains("PONG")),
        );
    }

    /// SIGKILL: the node has no chance to hand anything over.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the node again, with its cluster state (`nodes.conf`), on the same ports.
    pub fn restart(&mut self) {
        self.spawn();
    }
}

/// Three masters, three replicas.
pub struct RedisCluster {
    pub nodes: Vec<Node>,
}

impl RedisCluster {
    /// Starts one and waits until every slot is served, or returns `None` after a "skipped:"
    /// line when `redis-server` or `redis-cli` is missing (a failure under
    /// `SESSION_TESTS_REQUIRE_SERVERS=1`).
    pub fn start() -> Option<Self> {
        for tool in ["redis-server", "redis-cli"] {
            if let Err(error) = Command::new(tool).arg("--version").output() {
                if servers::servers_required() {
                    panic!("{tool} is required (SESSION_TESTS_REQUIRE_SERVERS=1): {error}");
                }
                eprintln!("skipped: {tool} is not installed ({error})");
                return None;
            }
        }
        let ports = free_ports(12);
        let mut nodes: Vec<Node> = ports
            .chunks(2)
            .map(|ports| {
                let dir = std::env::temp_dir().join(servers::unique_name("axum_session_cluster"));
                std::fs::create_dir(&dir).unwrap();
                Node {
                    port: ports[0],
                    bus_port: ports[1],
                    dir,
                    child: None,
                }
            })
            .collect();
        for node in &mut nodes {
            node.spawn();
        }
        let cluster = Self { nodes };
        let mut create = Command::new("redis-cli");
        create.arg("--cluster").arg("create");
        for node in &cluster.nodes {
            create.arg(format!("127.0.0.1:{}", node.port));
        }
        let output = create
            .args(["--cluster-replicas", "1", "--cluster-yes"])
            .stdin(Stdio::null())
            .output()
            .expect("running redis-cli --cluster create");
        assert!(
            output.status.success(),
            "redis-cli --cluster create: {output:?}"
        );
        cluster.wait_until_ok();
        Some(cluster)
    }

    /// The nodes' URLs, for a cluster client.
    pub fn urls(&self) -> Vec<String> {
        self.nodes
            .iter()
            .map(|node| format!("redis://127.0.0.1:{}", node.port))
            .collect()
    }

    /// A client config of the cluster (a pool is made from it).
    pub fn config(&self) -> deadpool_redis::cluster::Config {
        deadpool_redis::cluster::Config::from_urls(self.urls())
    }

    /// The slot of `key`, as the cluster computes it.
    pub fn key_slot(&self, key: &str) -> u16 {
        command(self.nodes[0].port, &["CLUSTER", "KEYSLOT", key])
            .and_then(|reply| reply.trim().trim_start_matches(':').parse().ok())
            .expect("CLUSTER KEYSLOT answers a slot")
    }

    /// Waits until every running node says `cluster_state:ok` and knows a master for every
    /// slot that answers.
    pub fn wait_until_ok(&self) {
        wait_until(
            Duration::from_secs(60),
            "the cluster serves every slot",
            || {
                self.nodes
                    .iter()
                    .filter(|node| node.child.is_some())
                    .all(|node| {
                        command(node.port, &["CLUSTER", "INFO"])
                            .is_some_and(|info| info.contains("cluster_state:ok"))
                    })
            },
        );
    }

    /// The index of the node that is master of `slot` now.
    pub fn master_of(&self, slot: u16) -> usize {
        self.master_of_now(slot).expect("a master for the slot")
    }

    /// The index of the node that a running node calls master of `slot`, if any.
    pub fn master_of_now(&self, slot: u16) -> Option<usize> {
        let port = self.slot_owner_port(slot)?;
        self.nodes.iter().position(|node| node.port == port)
    }

    /// Whether node `index` is running and a master.
    pub fn master_of_any(&self, index: usize) -> bool {
        let node = &self.nodes[index];
        node.child.is_some()
            && command(node.port, &["ROLE"])
                .is_some_and(|role| role.lines().nth(1) == Some("master"))
    }

    /// The index of a running master other than the one of `slot`: where to move it.
    pub fn another_master(&self, slot: u16) -> usize {
        let from = self.master_of(slot);
        (0..self.nodes.len())
            .find(|&index| index != from && self.master_of_any(index))
            .expect("another master")
    }

    /// The port of the master of `slot`, as a running node's `CLUSTER NODES` tells it.
    fn slot_owner_port(&self, slot: u16) -> Option<u16> {
        let node = self.nodes.iter().find(|node| node.child.is_some())?;
        let nodes = command(node.port, &["CLUSTER", "NODES"])?;
        nodes.lines().find_map(|line| {
            let fields: Vec<&str> = line.split(' ').collect();
            let flags = fields.get(2)?;
            if !flags.contains("master") || flags.contains("fail") {
                return None;
            }
            let serves = fields.iter().skip(8).any(|range| {
                let (start, end) = range.split_once('-').unwrap_or((range, range));
                matches!((start.parse::<u16>(), end.parse::<u16>()), (Ok(start), Ok(end)) if (start..=end).contains(&slot))
            });
            let address = fields.get(1)?.split('@').next()?;
            serves.then(|| address.rsplit(':').next()?.parse().ok()).flatten()
        })
    }

    /// The node id of node `index`.
    pub fn node_id(&self, index: usize) -> String {
        command(self.nodes[index].port, &["CLUSTER", "MYID"])
            .expect("CLUSTER MYID")
            .lines()
            .find(|l| !l.is_empty() && !l.starts_with('$'))
            .expect("an id")
            .trim_start_matches('+')
            .to_owned()
    }

    /// Moves `slot` from its master to the master at `to` (a node index), as `redis-cli
    /// --cluster reshard` does: importing and migrating states, `MIGRATE` one key at a time
    /// (100 ms apart, so that requests run against a half-moved slot), then the new owner
    /// announced to the masters. Returns how many keys moved.
    pub fn migrate_slot(&self, slot: u16, to: usize) -> usize {
        let migration = self.begin_migration(slot, to);
        let mut moved = 0;
        // Time between keys, so that requests run while the slot is half moved.
        while migration.move_keys(1) > 0 {
            moved += 1;
            std::thread::sleep(Duration::from_millis(100));
        }
        migration.finish();
        moved
    }

    /// Marks `slot` importing on the master at `to` and migrating on its master: from here
    /// until [`SlotMigration::finish`], a key of the slot that has moved is answered with an
    /// `ASK` redirection by the old owner, and the new owner answers only after `ASKING`.
    pub fn begin_migration(&self, slot: u16, to: usize) -> SlotMigration<'_> {
        let from = self.master_of(slot);
        let migration = SlotMigration {
            cluster: self,
            slot: slot.to_string(),
            from,
            to,
            to_id: self.node_id(to),
        };
        let from_id = self.node_id(from);
        migration.ok(
            to,
            &["CLUSTER", "SETSLOT", &migration.slot, "IMPORTING", &from_id],
        );
        migration.ok(
            from,
            &[
                "CLUSTER",
                "SETSLOT",
                &migration.slot,
                "MIGRATING",
                &migration.to_id,
            ],
        );
        migration
    }
}

/// A slot between two masters (see [`RedisCluster::begin_migration`]).
pub struct SlotMigration<'a> {
    cluster: &'a RedisCluster,
    slot: String,
    from: usize,
    to: usize,
    to_id: String,
}

impl SlotMigration<'_> {
    /// Runs a command on node `index` and asserts that it succeeded.
    fn ok(&self, index: usize, args: &[&str]) {
        let reply = command(self.cluster.nodes[index].port, args).unwrap_or_default();
        assert!(
            reply.starts_with("+OK") || reply.starts_with("+NOKEY"),
            "{args:?}: {reply}"
        );
    }

    /// Moves up to `count` keys of the slot to the new owner with `MIGRATE`; returns how many
    /// moved (0 once the old owner holds none).
    pub fn move_keys(&self, count: usize) -> usize {
        let from_port = self.cluster.nodes[self.from].port;
        let keys = command(
            from_port,
            &["CLUSTER", "GETKEYSINSLOT", &self.slot, &count.to_string()],
        )
        .unwrap_or_default();
        let keys: Vec<&str> = keys
            .lines()
            .filter(|l| !l.is_empty() && !l.starts_with('*') && !l.starts_with('$'))
            .collect();
        if keys.is_empty() {
            return 0;
        }
        let port_text = self.cluster.nodes[self.to].port.to_string();
        let mut args = vec!["MIGRATE", "127.0.0.1", &port_text, "", "0", "5000", "KEYS"];
        args.extend(keys.iter().copied());
        self.ok(self.from, &args);
        keys.len()
    }

    /// Moves the keys left, then announces the new owner: to itself first, then to the old
    /// one, then to the other masters; replicas learn it from them.
    pub fn finish(self) {
        while self.move_keys(100) > 0 {}
        let mut masters = vec![self.to, self.from];
        masters.extend(
            (0..self.cluster.nodes.len())
                .filter(|&i| i != self.to && i != self.from && self.cluster.master_of_any(i)),
        );
        for index in masters {
            self.ok(
                index,
                &["CLUSTER", "SETSLOT", &self.slot, "NODE", &self.to_id],
            );
        }
    }
}

impl Drop for RedisCluster {
    fn drop(&mut self) {
        for node in &mut self.nodes {
            node.kill();
            let _ = std::fs::remove_dir_all(&node.dir);
        }
    }
}

/// Polls `done` every 50 ms until it holds, or panics after `limit`.
pub fn wait_until(limit: Duration, what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !done() {
        assert!(Instant::now() < deadline, "{what}: not within {limit:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Sends one command (RESP, blocking, short timeouts) and returns the reply as lines, each
/// element on its own line (`+OK`, `:12`, the text of bulk strings; array headers kept as
/// `*n`), or `None` when the node does not answer.
pub fn command(port: u16, args: &[&str]) -> Option<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    let mut request = format!("*{}\r\n", args.len());
    for arg in args {
        request.push_str(&format!("${}\r\n{arg}\r\n", arg.len()));
    }
    stream.write_all(request.as_bytes()).ok()?;
    let mut reader = Reader {
        stream,
        buffer: Vec::new(),
    };
    let mut out = String::new();
    reader.value(&mut out)?;
    Some(out)
}

/// Reads RESP replies from a stream.
struct Reader {
    stream: TcpStream,
    buffer: Vec<u8>,
}

impl Reader {
    fn line(&mut self) -> Option<String> {
        loop {
            if let Some(end) = self.buffer.windows(2).position(|w| w == b"\r\n") {
                let line = String::from_utf8_lossy(&self.buffer[..end]).into_owned();
                self.buffer.drain(..end + 2);
                return Some(line);
            }
            self.fill()?;
        }
    }

    fn fill(&mut self) -> Option<()> {
        let mut chunk = [0u8; 4096];
        let read = self.stream.read(&mut chunk).ok()?;
        if read == 0 {
            return None;
        }
        self.buffer.extend_from_slice(&chunk[..read]);
        Some(())
    }

    fn value(&mut self, out: &mut String) -> Option<()> {
        let line = self.line()?;
        match line.as_bytes().first()? {
            b'*' => {
                out.push_str(&line);
                out.push('\n');
                let count: i64 = line[1..].parse().ok()?;
                for _ in 0..count.max(0) {
                    self.value(out)?;
                }
            }
            b'$' => {
                let len: i64 = line[1..].parse().ok()?;
                if len >= 0 {
                    let len = len as usize;
                    while self.buffer.len() < len + 2 {
                        self.fill()?;
                    }
                    out.push_str(&String::from_utf8_lossy(&self.buffer[..len]));
                    out.push('\n');
                    self.buffer.drain(..len + 2);
                }
            }
            _ => {
                out.push_str(&line);
                out.push('\n');
            }
        }
        Some(())
    }
}
