//! A batch on a Redis Cluster: its commands grouped by the master that serves each key, one
//! pipeline to each master, all at once, on the backend's own connections. A command a master
//! refuses (its slot moved or is moving, the master failed over, a script it does not know
//! yet) and every command to a master that cannot be reached goes again on its own, through
//! the cluster client, which follows the redirection: the scripts are idempotent, so one sent
//! twice changes nothing more.

use std::collections::HashMap;
use std::sync::Arc;

use deadpool_redis::redis::{self, Cmd, Value};
use futures_util::future::join_all;

use super::backend::RedisBackend;
use super::cache::LocalCache;
use super::cache_writes::ApplyArgs;
use super::cluster_cache::MasterCaches;
use super::cluster_nodes::{Address, ClusterNodes, SlotMap};
use super::connection::{each_replied, is_noscript, is_redirected};
use crate::backend::error::BackendError;
use crate::backend::session_backend::Record;
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
        let Some(map) = self.slot_map(nodes).await else {
            return outcomes;
        };
        let mut commands: Vec<Option<Cmd>> = commands.into_iter().map(Some).collect();
        let sent = by_master(&map, keys).into_iter().map(|(address, members)| {
            let mut pipeline = redis::pipe();
            for &n in &members {
                if let Some(command) = commands[n].take() {
                    pipeline.add_command(command);
                }
            }
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

    /// Looks `keys` up in their masters' local caches, and fetches the misses through each
    /// master's tracking connection, all masters at once: each key's record, or `None` when it
    /// is to be read without the cache (its cache does not trust its connection, or the read
    /// failed).
    pub(super) async fn load_cached(
        &self,
        nodes: &ClusterNodes,
        caches: &MasterCaches,
        keys: &[String],
    ) -> Vec<Option<Option<Record>>> {
        let mut found = vec![None; keys.len()];
        let timeout = self.connection.timeout;
        let groups = self.by_master_cache(nodes, caches, keys).await;
        let fetched = groups.into_iter().map(|(cache, members)| async move {
            let (mut hits, mut missed) = (Vec::new(), Vec::new());
            for n in members {
                match cache.get(&keys[n]) {
                    Some(record) => hits.push((n, Some(record))),
                    None => missed.push(n),
                }
            }
            if !missed.is_empty() {
                let misses: Vec<String> = missed.iter().map(|&n| keys[n].clone()).collect();
                if let Some(records) = cache.fetch(&misses, timeout).await {
                    hits.extend(missed.into_iter().zip(records));
                }
            }
            hits
        });
        for hits in join_all(fetched).await {
            for (n, record) in hits {
                found[n] = Some(record);
            }
        }
        found
    }

    /// Applies `writes` through their masters' local caches (one pipeline to each), which
    /// keep what each write leaves: each write's result, or `None` when it is to go without
    /// the cache (see [`LocalCache::apply`](super::cache::LocalCache::apply)).
    pub(super) async fn apply_cached(
        &self,
        nodes: &ClusterNodes,
        caches: &MasterCaches,
        writes: &[ApplyArgs],
    ) -> Vec<Option<Result<bool, BackendError>>> {
        let mut results = vec![None; writes.len()];
        let keys: Vec<&str> = writes.iter().map(|(key, _)| key.as_str()).collect();
        let (timeout, replication) = (self.connection.timeout, self.connection.replication);
        let groups = self.by_master_cache(nodes, caches, &keys).await;
        let applied = groups.into_iter().map(|(cache, members)| {
            let group: Vec<ApplyArgs> = members.iter().map(|&n| writes[n].clone()).collect();
            async move {
                let applied = cache.apply(&group, timeout, replication).await;
                (members, applied)
            }
        });
        for (members, applied) in join_all(applied).await {
            for (n, result) in members.into_iter().zip(applied.into_iter().flatten()) {
                results[n] = Some(result);
            }
        }
        results
    }

    /// The indexes of `keys` grouped by the local cache of the master that serves each one's
    /// slot; a key whose master is not known, or whose cache cannot be made, is in no group.
    async fn by_master_cache(
        &self,
        nodes: &ClusterNodes,
        caches: &MasterCaches,
        keys: &[impl AsRef<str>],
    ) -> Vec<(Arc<LocalCache>, Vec<usize>)> {
        let Some(map) = self.slot_map(nodes).await else {
            return Vec::new();
        };
        by_master(&map, keys)
            .into_iter()
            .filter_map(|(address, members)| {
                let cache = caches
                    .of(address)
                    .inspect_err(|error| tracing::debug!("a master's local cache: {error:#}"))
                    .ok()?;
                Some((cache, members))
            })
            .collect()
    }

    /// The slot map the batches go by, read with `CLUSTER NODES` when there is none; `None`
    /// when it cannot be read now (the batch goes through the cluster client).
    async fn slot_map(&self, nodes: &ClusterNodes) -> Option<Arc<SlotMap>> {
        if let Some(map) = nodes.map() {
            return Some(map);
        }
        let cluster_nodes = redis::cmd("CLUSTER").arg("NODES").clone();
        let text: String = self
            .connection
            .query_node(&cluster_nodes, None, "reading the Redis Cluster's slots")
            .await
            .inspect_err(|error| tracing::debug!("{error:#}"))
            .ok()?;
        let map = nodes.keep_map(SlotMap::parse(&text));
        if let Some(caches) = &self.master_caches {
            caches.keep_only(map.masters());
        }
        Some(map)
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

/// The indexes of `keys` grouped by the master that serves each one's slot; a key of a slot no
/// master serves (a failover under way) is in no group.
fn by_master<'a>(map: &'a SlotMap, keys: &[impl AsRef<str>]) -> HashMap<&'a Address, Vec<usize>> {
    let mut groups: HashMap<&Address, Vec<usize>> = HashMap::new();
    for (n, key) in keys.iter().enumerate() {
        if let Some(master) = map.master_of(key.as_ref()) {
            groups.entry(&map.masters()[master]).or_default().push(n);
        }
    }
    groups
}
