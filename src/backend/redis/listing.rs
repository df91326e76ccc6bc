//! Listing a Redis backend's records: `SCAN` over the key prefix (on each master of a
//! Cluster in turn), then the time each record has left.

use deadpool_redis::redis::{self, Value as RedisValue};
use time::Duration;

use super::backend::RedisBackend;
use super::cluster_nodes::SlotMap;
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
        Ok(SlotMap::parse(&nodes).masters().to_vec())
    }
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
    use super::glob_escaped;

    #[test]
    fn a_prefix_matches_only_itself() {
        assert_eq!(glob_escaped("session:"), "session:");
        assert_eq!(glob_escaped("a*b?[c]\\"), "a\\*b\\?\\[c\\]\\\\");
    }
}
