//! A batch on a Redis Cluster: its commands grouped by the master that serves each key, one
//! pipeline to each master, all at once, on the backend's own connections. A command a master
//! refuses (its slot moved or is moving, the master failed over, a script it does not know
//! yet) and every command to a master that cannot be reached goes again on its own, through
//! the cluster client, which follows the redirection: the scripts are idempotent, so one sent
//! twice changes nothing more.

use std::collections::HashMap;
use std::sync::Arc;

use deadpool_redis::redis::{self, Cmd, ErrorKind, RedisError, ServerErrorKind, Value};
use futures_util::future::join_all;

use super::backend::RedisBackend;
use super::cluster_nodes::{Address, ClusterNodes, SlotMap};
use super::connection::{each_replied, is_noscript, is_read_only};
use crate::backend::error::BackendError;
use crate::backend::timeout::bounded;

/// What became of one command of a batch sent master by master.
pub(super) enum ByNode {
    /// Its master's reply.
    Answered(Value),
    /// It failed for good (a timeout, a script error, replicas that did not confirm).
    Failed(BackendError),
    /// It is to go again on its own, through the cluster client.
    Again,
}

impl RedisBackend {
    /// Sends `commands`, the `n`th on the key `keys[n]`, grouped by master, one pipeline each,
    /// all at once; for `writes`, with replication asked for, each pipeline ends with a `WAIT`
    /// that counts for its commands. `doing` names the operation in errors.
    pub(super) async fn by_node(
        &self,
        nodes: &ClusterNodes,
        keys: &[String],
        commands: Vec<Cmd>,
        writes: bool,
        doing: &'static str,
    ) -> Vec<ByNode> {
        let mut outcomes: Vec<ByNode> = keys.iter().map(|_| ByNode::Again).collect();
        let Some(map) = self.slot_map(nodes, doing).await else {
            return outcomes;
        };
        let mut groups: HashMap<usize, (Vec<usize>, redis::Pipeline)> = HashMap::new();
        for (n, (key, command)) in keys.iter().zip(commands).enumerate() {
            // A slot no master serves (a failover under way) goes through the cluster client.
            if let Some(master) = map.master_of(key) {
                let (members, pipeline) = groups.entry(master).or_default();
                members.push(n);
                pipeline.add_command(command);
            }
        }
        let sent = groups.into_iter().map(|(master, (members, pipeline))| {
            let address = &map.masters()[master];
            async move {
                let outcomes = self
                    .node_pipeline(nodes, address, pipeline, writes, doing)
                    .await;
                (members, outcomes)
            }
        });
        for (members, answered) in join_all(sent).await {
            for (n, outcome) in members.into_iter().zip(answered) {
                outcomes[n] = outcome;
            }
        }
        outcomes
    }

    /// The slot map the batches go by, read with `CLUSTER NODES` when there is none; `None`
    /// when it cannot be read now (the batch goes through the cluster client).
    async fn slot_map(&self, nodes: &ClusterNodes, doing: &'static str) -> Option<Arc<SlotMap>> {
        if let Some(map) = nodes.map() {
            return Some(map);
        }
        let cluster_nodes = redis::cmd("CLUSTER").arg("NODES").clone();
        let text: String = self
            .connection
            .query_node(&cluster_nodes, None, doing)
            .await
            .inspect_err(|error| tracing::debug!("reading the Redis Cluster's slots: {error:#}"))
            .ok()?;
        Some(nodes.keep_map(SlotMap::parse(&text)))
    }

    /// One pipeline to the master at `address`: what became of each of its commands.
    async fn node_pipeline(
        &self,
        nodes: &ClusterNodes,
        address: &Address,
        pipeline: redis::Pipeline,
        writes: bool,
        doing: &'static str,
    ) -> Vec<ByNode> {
        let count = pipeline.len();
        let replication = self.connection.replication.filter(|_| writes);
        let sent = bounded(
            self.connection.timeout,
            || doing.to_owned(),
            "Redis",
            async {
                let sent = async {
                    let mut connection = nodes.connection(address).await?;
                    each_replied(&mut connection, pipeline, replication).await
                };
                Ok(sent.await)
            },
        )
        .await;
        let (results, replicas) = match sent {
            Ok(Ok(replied)) => replied,
            Ok(Err(error)) => {
                // Unreachable, or the connection broke: through the cluster client, which
                // finds the master that serves the slots now.
                tracing::debug!("a batch to the Redis master {address:?} failed: {error:#}");
                nodes.forget_connection(address);
                nodes.forget_map();
                return (0..count).map(|_| ByNode::Again).collect();
            }
            Err(timed_out) => {
                nodes.forget_connection(address);
                return (0..count)
                    .map(|_| ByNode::Failed(timed_out.clone()))
                    .collect();
            }
        };
        let unconfirmed = match (replication, replicas) {
            (Some(replication), Some(Ok(replicas))) => replication.confirmed(replicas, doing).err(),
            (Some(_), Some(Err(error))) => Some(BackendError::new(doing, error)),
            _ => None,
        };
        results
            .into_iter()
            .map(|result| match result {
                Ok(value) => match &unconfirmed {
                    Some(error) => ByNode::Failed(error.clone()),
                    None => ByNode::Answered(value),
                },
                Err(error) if is_redirected(&error) => {
                    nodes.forget_map();
                    ByNode::Again
                }
                Err(error) if is_noscript(&error) => ByNode::Again,
                Err(error) => ByNode::Failed(BackendError::new(doing, error)),
            })
            .collect()
    }
}

/// Whether a master refused a command because another node serves its slot now or for this
/// key (`MOVED`, `ASK`), the slot is in the middle of a move or the Cluster of a failover
/// (`TRYAGAIN`, `CLUSTERDOWN`, `MASTERDOWN`), or the node is a replica now (`READONLY`).
fn is_redirected(error: &RedisError) -> bool {
    is_read_only(error)
        || matches!(
            error.kind(),
            ErrorKind::Server(
                ServerErrorKind::Moved
                    | ServerErrorKind::Ask
                    | ServerErrorKind::TryAgain
                    | ServerErrorKind::ClusterDown
                    | ServerErrorKind::MasterDown
            )
        )
}
