//! PostgreSQL's batch operations: many loads as one `SELECT ... = ANY($1)`, many saves as one
//! `UPDATE ... FROM unnest(...) RETURNING id`, so a batch costs one statement and one commit.

use std::collections::{HashMap, HashSet};

use sqlx::Postgres;

use super::clock::ttl_millis;
use super::postgres_json::set_json;
use super::table::{decode_record, Table};
use crate::backend::batching::ApplyItem;
use crate::backend::error::BackendError;
use crate::backend::session_backend::Record;
use crate::id::SessionId;

/// The statements, made once per table.
#[derive(Clone, Debug)]
pub(super) struct BatchStatements {
    load: String,
    apply: String,
}

impl BatchStatements {
    pub(super) fn new(table: &str) -> Self {
        Self {
            load: format!(
                r#"SELECT id, data::text FROM {table} WHERE id = ANY($1) AND expires_at > now()"#
            ),
            // Each item: its id, whether it clears, the keys it removes (a JSON array), the
            // keys it sets (a JSON object) and its TTL. The rows are locked in the order of
            // their ids first, so that two batches (of two processes) never wait for each
            // other's rows in a circle; then each row is changed as `apply` changes one.
            apply: format!(
                r#"WITH items AS (
                       SELECT * FROM unnest($1::text[], $2::bool[], $3::text[], $4::text[],
                                            $5::bigint[])
                           AS i(id, cleared, removed, set, ttl)
                   ), locked AS (
                       SELECT s.id FROM {table} AS s
                       WHERE s.id = ANY($1) AND s.expires_at > now()
                       ORDER BY s.id
                       FOR UPDATE
                   )
                   UPDATE {table} AS s
                   SET data = ((CASE WHEN i.cleared THEN '{{}}'::jsonb ELSE s.data END)
                               - ARRAY(SELECT jsonb_array_elements_text(i.removed::jsonb)))
                              || i.set::jsonb,
                       expires_at = now() + i.ttl * interval '1 millisecond'
                   FROM items AS i JOIN locked AS l ON l.id = i.id
                   WHERE s.id = i.id AND s.expires_at > now()
                   RETURNING s.id"#
            ),
        }
    }
}

/// An item's changes as the batch statement takes them.
struct Encoded {
    removed: String,
    set: String,
}

/// The changes of `item` encoded, or `None` when they hold U+0000, which PostgreSQL refuses
/// in text and JSONB: such an item goes on its own, so that its error is its own.
fn encode(item: &ApplyItem) -> Result<Option<Encoded>, BackendError> {
    let changes = &item.changes;
    let removed = serde_json::to_string(&changes.removed)
        .map_err(|e| BackendError::new("could not encode the removed keys as JSON", e))?;
    let set = set_json(changes)?;
    // serde_json writes U+0000 as `\u0000` (a literal backslash before `u0000` is `\\u0000`,
    // which matches too and merely goes on its own).
    let nul = |json: &str| json.contains("\\u0000");
    Ok((!nul(&removed) && !nul(&set)).then_some(Encoded { removed, set }))
}

/// [`SessionBackend::load_many`](crate::SessionBackend::load_many).
pub(super) async fn load_many(
    table: &Table<Postgres>,
    sql: &BatchStatements,
    ids: &[SessionId],
) -> Vec<Result<Option<Record>, BackendError>> {
    if ids.is_empty() {
        return Vec::new();
    }
    let keys: Vec<&str> = ids.iter().map(SessionId::as_str).collect();
    let mut lease = match table.lease().await {
        Ok(lease) => lease,
        Err(error) => return error.for_each(ids.len()),
    };
    let rows = sqlx::query_as::<_, (String, String)>(&sql.load)
        .bind(keys)
        .fetch_all(&mut *lease)
        .await;
    lease.release();
    match rows {
        Ok(rows) => {
            let rows: HashMap<String, String> = rows.into_iter().collect();
            ids.iter()
                .map(|id| {
                    rows.get(id.as_str())
                        .map(|data| decode_record(data))
                        .transpose()
                })
                .collect()
        }
        Err(error) => table.failed("load sessions")(error).for_each(ids.len()),
    }
}

/// The items of a batch that go in the one statement, and those that go on their own.
pub(super) struct Split {
    /// Index and encoding of each item of the statement.
    batched: Vec<(usize, Encoded)>,
    /// Index of each item to apply on its own, or its result already.
    pub(super) alone: Vec<(usize, Option<BackendError>)>,
}

/// Sorts `items` into those the statement can carry and the rest.
pub(super) fn split(items: &[ApplyItem]) -> Split {
    let mut split = Split {
        batched: Vec::with_capacity(items.len()),
        alone: Vec::new(),
    };
    for (n, item) in items.iter().enumerate() {
        match encode(item) {
            Ok(Some(encoded)) => split.batched.push((n, encoded)),
            Ok(None) => split.alone.push((n, None)),
            Err(error) => split.alone.push((n, Some(error))),
        }
    }
    split
}

/// Runs the statement for the items `split` batched; their results go into `results`. When
/// the database refused the statement (one item's value nests deeper than it reads, say), it
/// changed nothing: their results are left empty, for the caller to apply each on its own.
pub(super) async fn apply_batched(
    table: &Table<Postgres>,
    sql: &BatchStatements,
    items: &[ApplyItem],
    split: &Split,
    results: &mut [Option<Result<bool, BackendError>>],
) {
    if split.batched.is_empty() {
        return;
    }
    let mut ids = Vec::with_capacity(split.batched.len());
    let mut cleared = Vec::with_capacity(split.batched.len());
    let mut removed = Vec::with_capacity(split.batched.len());
    let mut set = Vec::with_capacity(split.batched.len());
    let mut ttls = Vec::with_capacity(split.batched.len());
    for (n, encoded) in &split.batched {
        let item = &items[*n];
        ids.push(item.id.as_str());
        cleared.push(item.changes.cleared);
        removed.push(encoded.removed.as_str());
        set.push(encoded.set.as_str());
        ttls.push(ttl_millis(item.ttl));
    }
    let updated = match table.lease().await {
        Ok(mut lease) => {
            let updated = sqlx::query_scalar::<_, String>(&sql.apply)
                .bind(ids)
                .bind(cleared)
                .bind(removed)
                .bind(set)
                .bind(ttls)
                .fetch_all(&mut *lease)
                .await;
            lease.release();
            match updated {
                Err(sqlx::Error::Database(error)) => {
                    tracing::debug!(
                        error = &*error as &dyn std::error::Error,
                        "a batch of session saves was refused; saving each on its own"
                    );
                    return;
                }
                other => other.map_err(table.failed("save sessions")),
            }
        }
        Err(error) => Err(error),
    };
    match updated {
        Ok(updated) => {
            let updated: HashSet<String> = updated.into_iter().collect();
            for (n, _) in &split.batched {
                results[*n] = Some(Ok(updated.contains(items[*n].id.as_str())));
            }
        }
        Err(error) => {
            for (n, _) in &split.batched {
                results[*n] = Some(Err(error.clone()));
            }
        }
    }
}
