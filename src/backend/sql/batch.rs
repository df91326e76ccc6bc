//! The saves of SQLite and MySQL, whose statements cannot take arrays: one save as one
//! `UPDATE` with a [`JsonEdit`], many in one transaction (one commit), and many loads in one
//! query. PostgreSQL's, which can take arrays, are in `postgres_batch.rs`.

use std::collections::HashMap;

use sqlx::{Connection, Executor, FromRow, IntoArguments};
use time::Duration;

use super::clock::expiry;
use super::json_edit::{JsonDialect, JsonEdit};
use super::table::{decode_record, Driver, Table};
use crate::backend::batching::ApplyItem;
use crate::backend::changes::Changes;
use crate::backend::error::{unanswered, BackendError};
use crate::backend::session_backend::Record;
use crate::id::SessionId;

/// Why the transaction of a batch of saves failed.
enum BatchFailure {
    /// A statement failed and the transaction was rolled back: nothing of the batch was
    /// written, so each save can run again on its own.
    RolledBack(sqlx::Error),
    /// The connection failed, or the commit did: whether anything was written is unknown, so
    /// nothing runs again.
    Unknown(sqlx::Error),
}

impl<DB> Table<DB>
where
    DB: Driver,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'q> &'q str: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> String: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> i64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> bool: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> Option<&'q str>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'r> (String,): FromRow<'r, DB::Row>,
    for<'r> (i64,): FromRow<'r, DB::Row>,
    for<'r> (String, Option<String>, i64): FromRow<'r, DB::Row>,
    for<'r> (String, i64): FromRow<'r, DB::Row>,
    for<'r> (String, String): FromRow<'r, DB::Row>,
{
    /// [`SessionBackend::load_many`](crate::SessionBackend::load_many) as one query:
    /// `select_in`, a `SELECT id, data` that ends in `id IN (` (after the live-row condition,
    /// whose time, on the process clock, is its one parameter), closed with a `?` per id.
    pub(super) async fn load_in(
        &self,
        select_in: &str,
        ids: &[SessionId],
    ) -> Vec<Result<Option<Record>, BackendError>> {
        if ids.is_empty() {
            return Vec::new();
        }
        let mut sql = String::with_capacity(select_in.len() + 3 * ids.len());
        sql.push_str(select_in);
        for n in 0..ids.len() {
            sql.push_str(if n == 0 { "?" } else { ", ?" });
        }
        sql.push(')');
        let mut query = sqlx::query_as::<_, (String, String)>(&sql);
        if let Some(now) = self.clock().now() {
            query = query.bind(now);
        }
        for id in ids {
            query = query.bind(id.as_str());
        }
        let mut lease = match self.lease().await {
            Ok(lease) => lease,
            Err(error) => return error.for_each(ids.len()),
        };
        let rows = query.fetch_all(&mut *lease).await;
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
            Err(error) => self.failed("load sessions")(error).for_each(ids.len()),
        }
    }

    /// [`SessionBackend::apply`](crate::SessionBackend::apply) as a [`JsonEdit`] in
    /// `dialect`, in the `UPDATE` that `update` makes from the table's name and the edit's
    /// expression. Its parameters: the edit's, the expiry, the id, then on
    /// [`Clock::Process`](super::clock::Clock::Process) the time now.
    pub(super) async fn apply_json(
        &self,
        id: &SessionId,
        changes: &Changes,
        ttl: Duration,
        dialect: &JsonDialect,
        update: fn(&str, &str) -> String,
    ) -> Result<bool, BackendError> {
        let edit = JsonEdit::new(changes, dialect)?;
        let mut lease = self.lease().await?;
        let applied = self.apply_edit(&mut lease, id, edit, ttl, update).await;
        lease.release();
        applied.map_err(self.failed("save a session"))
    }

    /// Runs `edit`'s `UPDATE` of the live row `id` on `connection`: whether it found the row.
    async fn apply_edit(
        &self,
        connection: &mut DB::Connection,
        id: &SessionId,
        edit: JsonEdit,
        ttl: Duration,
        update: fn(&str, &str) -> String,
    ) -> Result<bool, sqlx::Error> {
        let sql = update(self.quoted(), &edit.sql);
        let now = self.clock().now();
        let mut query = edit
            .bind(sqlx::query(&sql))
            .bind(expiry(now, ttl))
            .bind(id.as_str());
        if let Some(now) = now {
            query = query.bind(now);
        }
        Ok(DB::rows_affected(&query.execute(connection).await?) == 1)
    }

    /// [`SessionBackend::apply_many`](crate::SessionBackend::apply_many) as one transaction
    /// (one commit) of [`apply_json`](Self::apply_json)'s statements, in the order of the ids
    /// so that two transactions never wait for each other's rows in a circle.
    ///
    /// An item whose changes cannot be written fails alone: one the edit refuses before
    /// anything is sent, and one the database refuses (a value nested deeper than it allows,
    /// say), as a statement that fails rolls the transaction back and each save then runs on
    /// its own. Nothing runs twice: the saves run again only when the transaction was rolled
    /// back; a connection or commit that fails fails every item.
    pub(super) async fn apply_json_many(
        &self,
        items: &[ApplyItem],
        dialect: &JsonDialect,
        update: fn(&str, &str) -> String,
    ) -> Vec<Result<bool, BackendError>> {
        if items.is_empty() {
            return Vec::new();
        }
        let mut results: Vec<Option<Result<bool, BackendError>>> = vec![None; items.len()];
        let mut edits = Vec::with_capacity(items.len());
        for (n, item) in items.iter().enumerate() {
            match JsonEdit::new(&item.changes, dialect) {
                Ok(edit) => edits.push((n, edit)),
                Err(error) => results[n] = Some(Err(error)),
            }
        }
        edits.sort_by(|(a, _), (b, _)| items[*a].id.cmp(&items[*b].id));
        let written: Vec<usize> = edits.iter().map(|(n, _)| *n).collect();
        let mut lease = match self.lease().await {
            Ok(lease) => lease,
            Err(error) => {
                for n in written {
                    results[n] = Some(Err(error.clone()));
                }
                return unanswered(results);
            }
        };
        match self
            .apply_in_transaction(&mut lease, items, edits, update)
            .await
        {
            Ok(applied) => {
                for (n, applied) in written.iter().zip(applied) {
                    results[*n] = Some(Ok(applied));
                }
            }
            Err(BatchFailure::RolledBack(error)) => {
                tracing::debug!(
                    error = &error as &dyn std::error::Error,
                    "a batch of session saves was rolled back; saving each on its own"
                );
                for n in written {
                    let item = &items[n];
                    // The edit was accepted once, so it is again.
                    let applied = match JsonEdit::new(&item.changes, dialect) {
                        Ok(edit) => self
                            .apply_edit(&mut lease, &item.id, edit, item.ttl, update)
                            .await
                            .map_err(self.failed("save a session")),
                        Err(error) => Err(error),
                    };
                    results[n] = Some(applied);
                }
            }
            Err(BatchFailure::Unknown(error)) => {
                let error = self.failed("save sessions")(error);
                for n in written {
                    results[n] = Some(Err(error.clone()));
                }
            }
        }
        lease.release();
        unanswered(results)
    }

    /// Runs each edit's `UPDATE` in one transaction on `connection`: whether each found its
    /// live row.
    async fn apply_in_transaction(
        &self,
        connection: &mut DB::Connection,
        items: &[ApplyItem],
        edits: Vec<(usize, JsonEdit)>,
        update: fn(&str, &str) -> String,
    ) -> Result<Vec<bool>, BatchFailure> {
        let mut tx = connection.begin().await.map_err(BatchFailure::Unknown)?;
        let mut applied = Vec::with_capacity(edits.len());
        for (n, edit) in edits {
            let item = &items[n];
            match self
                .apply_edit(&mut tx, &item.id, edit, item.ttl, update)
                .await
            {
                Ok(found) => applied.push(found),
                // The database refused the statement: undo the batch's earlier ones.
                Err(error @ sqlx::Error::Database(_)) => {
                    return Err(match tx.rollback().await {
                        Ok(()) => BatchFailure::RolledBack(error),
                        Err(_) => BatchFailure::Unknown(error),
                    })
                }
                Err(error) => return Err(BatchFailure::Unknown(error)),
            }
        }
        tx.commit().await.map_err(BatchFailure::Unknown)?;
        Ok(applied)
    }
}
