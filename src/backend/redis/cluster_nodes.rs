//! A Redis Cluster's masters, the slots each serves, and a connection of the backend's own to
//! each: what lets a batch go to every master as one pipeline. (The cluster client sends a
//! pipeline to one node and, when any of its commands is redirected, sends all of them again
//! elsewhere; so batches go around it, and only what a master refuses goes through it.)

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use deadpool_redis::redis::aio::MultiplexedConnection;
use deadpool_redis::redis::{
    Client, ConnectionAddr, ConnectionInfo, IntoConnectionInfo, RedisError,
};

use crate::backend::error::BackendError;

/// How many hash slots a Cluster has.
const SLOTS: usize = 16_384;

/// A node's `host` and `port`, as the Cluster announces it.
pub(super) type Address = (String, u16);

/// Which master serves each slot, as one node's `CLUSTER NODES` said.
#[derive(Debug)]
pub(super) struct SlotMap {
    /// The masters that serve slots, sorted.
    masters: Vec<Address>,
    /// For each slot, the index of its master in `masters`; [`NONE`] when none serves it.
    owners: Vec<u16>,
}

/// No master serves the slot.
const NONE: u16 = u16::MAX;

impl SlotMap {
    /// The map in the text of `CLUSTER NODES`: one node a line, `id host:port@cport[,hostname]
    /// flags master-id ping pong epoch link-state slot...`, a slot being `n`, `from-to`, or a
    /// migration in brackets (which does not change the owner).
    pub(super) fn parse(nodes: &str) -> Self {
        let mut serving: Vec<(Address, Vec<&str>)> = nodes
            .lines()
            .filter_map(|line| {
                let fields: Vec<&str> = line.split_whitespace().collect();
                let flags = fields.get(2)?.split(',').collect::<Vec<_>>();
                let usable = flags.contains(&"master")
                    && !flags
                        .iter()
                        .any(|flag| matches!(*flag, "fail" | "fail?" | "noaddr" | "handshake"));
                if !usable || fields.len() < 9 {
                    return None; // a replica, a failed master, or a master without slots
                }
                let address = fields.get(1)?.split(['@', ',']).next()?;
                let (host, port) = address.rsplit_once(':')?;
                let address = (host.to_owned(), port.parse().ok()?);
                (!address.0.is_empty()).then(|| (address, fields[8..].to_vec()))
            })
            .collect();
        serving.sort();
        let mut owners = vec![NONE; SLOTS];
        for (index, (_, ranges)) in serving.iter().enumerate() {
            for range in ranges.iter().filter(|range| !range.starts_with('[')) {
                let (from, to) = range.split_once('-').unwrap_or((range, range));
                let (Ok(from), Ok(to)) = (from.parse::<usize>(), to.parse::<usize>()) else {
                    continue;
                };
                if let Some(slots) = owners.get_mut(from..=to.min(SLOTS - 1)) {
                    // At most as many masters as slots: the index fits.
                    slots.fill(u16::try_from(index).unwrap_or(NONE));
                }
            }
        }
        Self {
            masters: serving.into_iter().map(|(address, _)| address).collect(),
            owners,
        }
    }

    /// The masters that serve slots.
    pub(super) fn masters(&self) -> &[Address] {
        &self.masters
    }

    /// The index in [`masters`](Self::masters) of the one that serves `key`'s slot.
    pub(super) fn master_of(&self, key: &str) -> Option<usize> {
        let owner = self.owners[usize::from(key_slot(key.as_bytes()))];
        (owner != NONE).then_some(usize::from(owner))
    }
}

/// The hash slot of `key`: CRC16 (XMODEM) of its hash tag (what is between the first `{` and
/// the next `}`, when not empty) or of the whole key, modulo 16,384.
fn key_slot(key: &[u8]) -> u16 {
    let hashed = key
        .iter()
        .position(|&byte| byte == b'{')
        .and_then(|open| {
            let tag = &key[open + 1..];
            let close = tag.iter().position(|&byte| byte == b'}')?;
            (close > 0).then(|| &tag[..close])
        })
        .unwrap_or(key);
    // SLOTS fits in u16 and the remainder is below it.
    crc16(hashed) % (SLOTS as u16)
}

/// CRC16-CCITT (XMODEM): polynomial 0x1021, initial value 0, as Redis Cluster uses.
fn crc16(bytes: &[u8]) -> u16 {
    let mut crc: u16 = 0;
    for &byte in bytes {
        crc ^= u16::from(byte) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 == 0 {
                crc << 1
            } else {
                (crc << 1) ^ 0x1021
            };
        }
    }
    crc
}

/// `settings` (a node's), at `address`, over TLS if that node was.
pub(super) fn node_settings(settings: &ConnectionInfo, (host, port): &Address) -> ConnectionInfo {
    let addr = match settings.addr() {
        ConnectionAddr::TcpTls {
            insecure,
            tls_params,
            ..
        } => ConnectionAddr::TcpTls {
            host: host.clone(),
            port: *port,
            insecure: *insecure,
            tls_params: tls_params.clone(),
        },
        _ => ConnectionAddr::Tcp(host.clone(), *port),
    };
    settings.clone().set_addr(addr)
}

/// The Cluster's slot map, once read, and a multiplexed connection to each master batches
/// went to, opened with the settings (credentials, database, TLS) the pool was given.
pub(super) struct ClusterNodes {
    /// What every node connection is opened with, its address replaced.
    settings: ConnectionInfo,
    map: Mutex<Option<Arc<SlotMap>>>,
    connections: Mutex<HashMap<Address, MultiplexedConnection>>,
}

impl std::fmt::Debug for ClusterNodes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Not the settings: they may hold a password.
        f.debug_struct("ClusterNodes")
            .field(
                "map",
                &self.lock_map().as_ref().map(|map| map.masters.len()),
            )
            .finish_non_exhaustive()
    }
}

impl ClusterNodes {
    /// Takes the settings of the first node `config` names (its URL or connection info).
    pub(super) fn from_config(
        config: &deadpool_redis::cluster::Config,
    ) -> Result<Self, BackendError> {
        let invalid = |e| BackendError::new("the Redis Cluster config is not valid", e);
        let settings = match (&config.urls, &config.connections) {
            (Some(urls), None) if !urls.is_empty() => {
                urls[0].as_str().into_connection_info().map_err(invalid)?
            }
            (None, Some(connections)) if !connections.is_empty() => connections[0]
                .clone()
                .into_connection_info()
                .map_err(invalid)?,
            (Some(_), Some(_)) => {
                return Err(BackendError::msg(
                    "the Redis Cluster config gives both urls and connections: give one",
                ))
            }
            _ => {
                return Err(BackendError::msg(
                    "the Redis Cluster config names no node: give the URL of at least one",
                ))
            }
        };
        Ok(Self {
            settings,
            map: Mutex::default(),
            connections: Mutex::default(),
        })
    }

    /// The slot map, unless none was read since the last [`forget_map`](Self::forget_map).
    pub(super) fn map(&self) -> Option<Arc<SlotMap>> {
        self.lock_map().clone()
    }

    /// Keeps `map` as the slot map.
    pub(super) fn keep_map(&self, map: SlotMap) -> Arc<SlotMap> {
        let map = Arc::new(map);
        *self.lock_map() = Some(Arc::clone(&map));
        map
    }

    /// Drops the slot map (a slot moved, or a master went away): the next batch reads it again.
    pub(super) fn forget_map(&self) {
        *self.lock_map() = None;
    }

    /// The connection to the master at `address`, opened when there is none yet.
    pub(super) async fn connection(
        &self,
        address: &Address,
    ) -> Result<MultiplexedConnection, RedisError> {
        if let Some(connection) = self.lock_connections().get(address) {
            return Ok(connection.clone());
        }
        let client = Client::open(node_settings(&self.settings, address))?;
        let connection = client.get_multiplexed_async_connection().await?;
        self.lock_connections()
            .insert(address.clone(), connection.clone());
        Ok(connection)
    }

    /// Drops the connection to `address` (it failed): the next batch opens another.
    pub(super) fn forget_connection(&self, address: &Address) {
        self.lock_connections().remove(address);
    }

    /// The settings (credentials, database, TLS) of the config's first node.
    pub(super) fn settings(&self) -> &ConnectionInfo {
        &self.settings
    }

    fn lock_map(&self) -> MutexGuard<'_, Option<Arc<SlotMap>>> {
        // Held only to clone or replace the map: nothing can be left half-done.
        self.map.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn lock_connections(&self) -> MutexGuard<'_, HashMap<Address, MultiplexedConnection>> {
        // Held only to look up, add or remove one handle.
        self.connections
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::{crc16, key_slot, SlotMap};

    #[test]
    fn key_slots_are_the_clusters() {
        assert_eq!(crc16(b"123456789"), 0x31C3);
        assert_eq!(key_slot(b"foo"), 12_182);
        assert_eq!(key_slot(b"{user1000}.following"), key_slot(b"user1000"));
        // Slots as `CLUSTER KEYSLOT` gives them (Redis 7.0).
        assert_eq!(key_slot(b"user1000"), 3_443);
        assert_eq!(
            key_slot(b"foo{}{bar}"),
            8_363,
            "an empty tag: the whole key"
        );
        assert_eq!(key_slot(b"foo{{bar}}zap"), 4_015, "the tag `{{bar`");
    }

    #[test]
    fn the_slot_map_is_read_from_cluster_nodes() {
        let nodes = "\
a1 127.0.0.1:7002@17002 master - 0 1 3 connected 10923-16383
b2 127.0.0.1:7000@17000 myself,master - 0 0 1 connected 0-5460 [5461->-c3]
c3 127.0.0.1:7001@17001 master - 0 1 2 connected 5461-10922
d4 127.0.0.1:7003@17003 slave a1 0 1 3 connected
e5 127.0.0.1:7004@17004 master,fail - 0 1 5 connected
";
        let map = SlotMap::parse(nodes);
        let ports: Vec<u16> = map.masters().iter().map(|(_, port)| *port).collect();
        assert_eq!(ports, [7000, 7001, 7002]);
        let port_of = |key: &str| map.master_of(key).map(|index| map.masters()[index].1);
        assert_eq!(port_of("foo"), Some(7002)); // slot 12182
        assert_eq!(port_of("{user1000}"), Some(7000)); // slot 3443
        let nodes = "\
a1 127.0.0.1:7001@17001 myself,master - 0 0 1 connected 0-5460
b2 127.0.0.1:7002@17002,node-b master - 0 0 2 connected 5461-10922
c3 127.0.0.1:7003@17003 master,fail - 0 0 3 disconnected 10923-16383
d4 127.0.0.1:7004@17004 slave a1 0 0 1 connected
e5 127.0.0.1:7005@17005 master - 0 0 5 connected
f6 :0@0 master,noaddr - 0 0 6 disconnected 1-2
";
        let map = SlotMap::parse(nodes);
        let masters = [
            ("127.0.0.1".to_owned(), 7001),
            ("127.0.0.1".to_owned(), 7002),
        ];
        assert_eq!(map.masters(), masters);
        assert_eq!(map.master_of("foo"), None, "slot 12182 unserved");
    }
}
