//! Listing a Redis backend's records: `SCAN` over the key prefix (on each master of a
//! Cluster in turn), then the time each record has left.

use deadpool_redis::redis::{self, Value as RedisValue};
use time::Duration;

use super::backend::RedisBackend;
use crate::backend::error::BackendError;
use crate::backend::listing::{ListRecords, Listed};
use crate::id::SessionId;

const DOING: &str = "listing the sessions in Redis";

/// Where a listing is: the server's `SCAN` cursor (0 at the start and the end of a node), and
/// on a Cluster the masters, read once at the start, and the one being scanned.
#[derive(Debug, Default)]
pub(crate) struct ScanCursor {
    scan: u64,
    /// `None` until a Cluster's masters are read; empty on a single server.
    masters: Option<Vec<(String, u16)>>,
    node: usize,
}

/// In `SCAN` order, node after node. A key may be listed twice (`SCAN` promises every key
/// present throughout at least once; a slot that moves between two masters during the
/// listing may be scanned on both, or, moving to a master already scanned, on neither: those
/// records move on their next use).
impl ListRecords for RedisBackend {
    type Cursor = ScanCursor;

    async fn list_page(
        &self,
        cursor: &mut ScanCursor,
        limit: usize,
    ) -> Result<(Vec<Listed>, bool), BackendError> {
        let masters = match cursor.masters.take() {
            Some(masters) => masters,
            None if self.is_single_node() => Vec::new(),
            None => self.masters().await?,
        };
        let node = masters.get(cursor.node).cloned();
        let nodes = masters.len().max(1);
        cursor.masters = Some(masters);
        if cursor.node >= nodes {
            return Ok((Vec::new(), true));
        }
        let scan = redis::cmd("SCAN")
            .arg(cursor.scan)
            .arg("MATCH")
            .arg(format!("{}*", glob_escaped(&self.prefix)))
            .arg("COUNT")
            .arg(limit)
            .arg("TYPE")
            .arg("hash")
            .clone();
        let (next, keys): (u64, Vec<String>) = self
            .connection
            .query_node(&scan, node.as_ref(), DOING)
            .await?;
        cursor.scan = next;
        if next == 0 {
            cursor.node += 1;
        }
        let complete = cursor.node >= nodes;
        let ids: Vec<SessionId> = keys
            .iter()
            .filter_map(|key| SessionId::parse(key.strip_prefix(&self.prefix)?))
            .collect();
        if ids.is_empty() {
            return Ok((Vec::new(), complete));
        }
        let ttls = self.ttls(&ids).await?;
        let listed = ids
            .into_iter()
            .zip(ttls)
            .filter_map(|(id, ttl)| match ttl {
                // -2: gone since the SCAN; -1: no expiry, which this crate never writes.
                Some(ms) if ms > 0 => Some(Listed {
                    id,
                    ttl: Duration::milliseconds(ms),
                }),
                _ => None,
            })
            .collect();
        Ok((listed, complete))
    }
}

impl RedisBackend {
    /// The `PTTL` of each record: one pipeline on a single server; on a Cluster, whose
    /// pipelines cannot span slots, one command each (a drain's pace, not a request's).
    async fn ttls(&self, ids: &[SessionId]) -> Result<Vec<Option<i64>>, BackendError> {
        if self.is_single_node() {
            let mut pipeline = redis::pipe();
            for id in ids {
                pipeline.cmd("PTTL").arg(self.key(id));
            }
            let replies = self.connection.pipeline(pipeline, false, DOING).await?;
            return Ok(replies
                .into_iter()
                .map(|reply| match reply {
                    Ok(RedisValue::Int(ms)) => Some(ms),
                    _ => None,
                })
                .collect());
        }
        let mut ttls = Vec::with_capacity(ids.len());
        for id in ids {
            let pttl = redis::cmd("PTTL").arg(self.key(id)).clone();
            ttls.push(Some(self.connection.query(&pttl, DOING).await?));
        }
        Ok(ttls)
    }

    /// The address of every master of the Cluster that serves slots, from `CLUSTER NODES`.
    async fn masters(&self) -> Result<Vec<(String, u16)>, BackendError> {
        let nodes: String = self
            .connection
            .query_node(&redis::cmd("CLUSTER").arg("NODES").clone(), None, DOING)
            .await?;
        Ok(masters_in(&nodes))
    }
}

/// The masters that serve slots in the text of `CLUSTER NODES`: one node a line, `id
/// host:port@cport[,hostname] flags master-id ping pong epoch link-state slot...`.
fn masters_in(nodes: &str) -> Vec<(String, u16)> {
    let mut masters: Vec<(String, u16)> = nodes
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
            Some((host.to_owned(), port.parse().ok()?)).filter(|(host, _)| !host.is_empty())
        })
        .collect();
    masters.sort();
    masters
}

/// `text` matching itself in a `SCAN` pattern.
fn glob_escaped(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::{glob_escaped, masters_in};

    #[test]
    fn the_masters_that_serve_slots_are_read_from_cluster_nodes() {
        let nodes = "\
a1 127.0.0.1:7001@17001 myself,master - 0 0 1 connected 0-5460
b2 127.0.0.1:7002@17002,node-b master - 0 0 2 connected 5461-10922
c3 127.0.0.1:7003@17003 master,fail - 0 0 3 disconnected 10923-16383
d4 127.0.0.1:7004@17004 slave a1 0 0 1 connected
e5 127.0.0.1:7005@17005 master - 0 0 5 connected
f6 :0@0 master,noaddr - 0 0 6 disconnected 1-2
";
        assert_eq!(
            masters_in(nodes),
            [
                ("127.0.0.1".to_owned(), 7001),
                ("127.0.0.1".to_owned(), 7002)
            ]
        );
    }

    #[test]
    fn a_prefix_matches_only_itself() {
        assert_eq!(glob_escaped("session:"), "session:");
        assert_eq!(glob_escaped("a*b?[c]\\"), "a\\*b\\?\\[c\\]\\\\");
    }
}
