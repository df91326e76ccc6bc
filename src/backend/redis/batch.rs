//! The Redis backend's batches: many loads, or many saves, as one pipeline (one round trip,
//! one `WAIT` for them all when replicas must confirm).

use deadpool_redis::redis::{self, RedisError, Value as RedisValue};
use futures_util::future::join_all;

use super::backend::RedisBackend;
use super::cluster_batch::ByNode;
use super::cluster_nodes::ClusterNodes;
use super::connection::{invocation, is_noscript};
use super::fields::{change_args, parse_record};
use super::scripts::APPLY;
use crate::backend::batching::ApplyItem;
use crate::backend::error::{unanswered, BackendError};
use crate::backend::session_backend::{Record, SessionBackend};
use crate::id::SessionId;

const LOADING: &str = "loading session records from Redis";
const APPLYING: &str = "applying changes to session records in Redis";

/// The record in the fields of an `HGETALL`, `None` when there are none (the marker field
/// makes every record a non-empty hash).
fn record(fields: Vec<(Vec<u8>, Vec<u8>)>) -> Result<Option<Record>, BackendError> {
    (!fields.is_empty())
        .then(|| parse_record(fields))
        .transpose()
}

/// One command's reply as `T`, its error as the operation's.
fn reply<T: redis::FromRedisValue>(
    reply: Option<Result<RedisValue, RedisError>>,
    doing: &'static str,
) -> Result<T, BackendError> {
    let value = reply
        .ok_or_else(|| BackendError::msg(format!("{doing}: Redis gave no reply for it")))?
        .map_err(|e| BackendError::new(doing, e))?;
    redis::from_redis_value(value).map_err(|e| BackendError::new(doing, RedisError::from(e)))
}

impl RedisBackend {
    /// [`Batching::load_many`](crate::backend::Batching::load_many): the cached records, and one `HGETALL` per other id, in
    /// one pipeline (on a Cluster, one to each master).
    pub(super) async fn load_batch(
        &self,
        ids: &[SessionId],
    ) -> Vec<Result<Option<Record>, BackendError>> {
        if let Some(nodes) = self.connection.pool.cluster_nodes() {
            return self.load_by_node(nodes, ids).await;
        }
        if ids.is_empty() {
            return Vec::new();
        }
        let keys: Vec<String> = ids.iter().map(|id| self.key(id)).collect();
        if let Some(cache) = &self.cache {
            let mut loaded: Vec<Option<Record>> = keys.iter().map(|key| cache.get(key)).collect();
            let missed: Vec<usize> = (0..ids.len()).filter(|&n| loaded[n].is_none()).collect();
            if missed.is_empty() {
                return loaded.into_iter().map(Ok).collect();
            }
            let misses: Vec<String> = missed.iter().map(|&n| keys[n].clone()).collect();
            if let Some(fetched) = cache.fetch(&misses, self.connection.timeout).await {
                for (n, record) in missed.into_iter().zip(fetched) {
                    loaded[n] = record;
                }
                return loaded.into_iter().map(Ok).collect();
            }
        }
        let mut pipeline = redis::pipe();
        for key in &keys {
            pipeline.cmd("HGETALL").arg(key);
        }
        let replies = match self.connection.pipeline(pipeline, false, LOADING).await {
            Ok(replies) => replies,
            Err(error) => return error.for_each(ids.len()),
        };
        let mut replies = replies.into_iter();
        ids.iter()
            .map(|_| record(reply(replies.next(), LOADING)?))
            .collect()
    }

    /// [`load_batch`](Self::load_batch) on a Cluster: what the masters' local caches hold or
    /// fetch, when the backend keeps them, and one `HGETALL` pipeline to each master for the
    /// rest.
    async fn load_by_node(
        &self,
        nodes: &ClusterNodes,
        ids: &[SessionId],
    ) -> Vec<Result<Option<Record>, BackendError>> {
        let keys: Vec<String> = ids.iter().map(|id| self.key(id)).collect();
        let mut loaded: Vec<Option<Result<Option<Record>, BackendError>>> =
            match &self.master_caches {
                Some(caches) => self
                    .load_cached(nodes, caches, &keys)
                    .await
                    .into_iter()
                    .map(|cached| cached.map(Ok))
                    .collect(),
                None => vec![None; ids.len()],
            };
        let rest: Vec<usize> = (0..ids.len()).filter(|&n| loaded[n].is_none()).collect();
        let read = if rest.len() < 2 {
            join_all(rest.iter().map(|&n| self.load_one(&ids[n]))).await
        } else {
            let keys: Vec<String> = rest.iter().map(|&n| keys[n].clone()).collect();
            let commands = keys
                .iter()
                .map(|key| redis::cmd("HGETALL").arg(key).clone())
                .collect();
            let outcomes = self.by_node(nodes, &keys, commands, false, LOADING).await;
            join_all(rest.iter().zip(outcomes).map(|(&n, outcome)| async move {
                match outcome {
                    ByNode::Answered(value) => record(reply(Some(Ok(value)), LOADING)?),
                    ByNode::Failed(error) => Err(error),
                    ByNode::Again => self.load_one(&ids[n]).await,
                }
            }))
            .await
        };
        for (n, result) in rest.into_iter().zip(read) {
            loaded[n] = Some(result);
        }
        unanswered(loaded)
    }

    /// [`Batching::apply_many`](crate::backend::Batching::apply_many): the `APPLY` script by its SHA1 for each item, in one
    /// pipeline. Items the server did not know the script for (the first batch after it
    /// restarted) go again on their own, which loads it. On a Cluster, one pipeline to each
    /// master.
    pub(super) async fn apply_batch(&self, items: &[ApplyItem]) -> Vec<Result<bool, BackendError>> {
        if let Some(nodes) = self.connection.pool.cluster_nodes() {
            return self.apply_by_node(nodes, items).await;
        }
        if items.is_empty() {
            return Vec::new();
        }
        let mut results: Vec<Option<Result<bool, BackendError>>> = vec![None; items.len()];
        let keys: Vec<String> = items.iter().map(|item| self.key(&item.id)).collect();
        let mut sent = Vec::with_capacity(items.len());
        let mut writes = Vec::with_capacity(items.len());
        for (n, item) in items.iter().enumerate() {
            match change_args(&item.changes, item.ttl, &self.index_prefix) {
                Ok(args) => {
                    writes.push((keys[n].clone(), args));
                    sent.push(n);
                }
                Err(error) => results[n] = Some(Err(error)),
            }
        }
        if sent.is_empty() {
            return unanswered(results);
        }
        if let Some(cache) = &self.cache {
            let timeout = self.connection.timeout;
            if let Some(applied) = cache
                .apply(&writes, timeout, self.connection.replication)
                .await
            {
                for (&n, result) in sent.iter().zip(applied) {
                    results[n] = Some(result);
                }
                return unanswered(results);
            }
        }
        let mut pipeline = redis::pipe();
        for (key, args) in &writes {
            pipeline.add_command(invocation(&APPLY, &[key], args, true));
        }
        let applied = self.connection.pipeline(pipeline, true, APPLYING).await;
        self.written(&keys.iter().map(String::as_str).collect::<Vec<_>>());
        match applied {
            Ok(replies) => {
                let mut replies = replies.into_iter();
                for &n in &sent {
                    let item = &items[n];
                    results[n] = Some(match replies.next() {
                        Some(Err(error)) if is_noscript(&error) => {
                            self.apply(&item.id, &item.changes, item.ttl).await
                        }
                        other => reply(other, APPLYING),
                    });
                }
            }
            Err(error) => {
                for &n in &sent {
                    results[n] = Some(Err(error.clone()));
                }
            }
        }
        unanswered(results)
    }

    /// [`apply_batch`](Self::apply_batch) on a Cluster: through the masters' local caches,
    /// when the backend keeps them, and one `APPLY` pipeline to each master for the rest.
    async fn apply_by_node(
        &self,
        nodes: &ClusterNodes,
        items: &[ApplyItem],
    ) -> Vec<Result<bool, BackendError>> {
        let mut results: Vec<Option<Result<bool, BackendError>>> = vec![None; items.len()];
        let (mut sent, mut writes) = (Vec::new(), Vec::new());
        for (n, item) in items.iter().enumerate() {
            match change_args(&item.changes, item.ttl, &self.index_prefix) {
                Ok(args) => {
                    writes.push((self.key(&item.id), args));
                    sent.push(n);
                }
                Err(error) => results[n] = Some(Err(error)),
            }
        }
        if let Some(caches) = &self.master_caches {
            let cached = self.apply_cached(nodes, caches, &writes).await;
            for (&n, result) in sent.iter().zip(cached) {
                results[n] = result;
            }
        }
        let rest: Vec<usize> = (0..sent.len())
            .filter(|&w| results[sent[w]].is_none())
            .collect();
        let applied = if rest.len() < 2 {
            join_all(rest.iter().map(|&w| self.apply_one(&items[sent[w]]))).await
        } else {
            let keys: Vec<String> = rest.iter().map(|&w| writes[w].0.clone()).collect();
            let commands = rest
                .iter()
                .map(|&w| invocation(&APPLY, &[&writes[w].0], &writes[w].1, true))
                .collect();
            let outcomes = self.by_node(nodes, &keys, commands, true, APPLYING).await;
            self.written(&keys.iter().map(String::as_str).collect::<Vec<_>>());
            join_all(rest.iter().zip(outcomes).map(|(&w, outcome)| {
                let item = &items[sent[w]];
                async move {
                    match outcome {
                        ByNode::Answered(value) => reply(Some(Ok(value)), APPLYING),
                        ByNode::Failed(error) => Err(error),
                        ByNode::Again => self.apply_one(item).await,
                    }
                }
            }))
            .await
        };
        for (w, result) in rest.into_iter().zip(applied) {
            results[sent[w]] = Some(result);
        }
        unanswered(results)
    }

    /// `item` applied on its own.
    async fn apply_one(&self, item: &ApplyItem) -> Result<bool, BackendError> {
        self.apply(&item.id, &item.changes, item.ttl).await
    }
}
