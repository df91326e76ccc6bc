//! Many loads in one query, many saves in one transaction: the batch operations of the SQL
//! backends whose statements cannot take arrays (SQLite and MySQL). PostgreSQL's, which can,
//! are in `postgres_batch.rs`.

use std::collections::HashMap;

use sqlx::{Executor, FromRow, IntoArguments};

use super::clock::expiry;
use super::json_edit::{JsonDialect, JsonEdit};
use super::table::{decode_record, Driver, Table};
use crate::backend::error::{unanswered, BackendError};
use crate::backend::session_backend::{ApplyItem, Record};
use crate::id::SessionId;

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
        match query.fetch_all(self.pool()).await {
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

    /// [`SessionBackend::apply_many`](crate::SessionBackend::apply_many) as one transaction
    /// (one commit) of [`apply_json`](Self::apply_json)'s statements, in the order of the ids
    /// so that two transactions never wait for each other's rows in a circle. An item whose
    /// changes cannot be written fails alone; a failed transaction fails every other item.
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
        match self.apply_in_transaction(items, edits, update).await {
            Ok(applied) => {
                for (n, applied) in written.iter().zip(applied) {
                    results[*n] = Some(Ok(applied));
                }
            }
            Err(error) => {
                let error = self.failed("save sessions")(error);
                for n in written {
                    results[n] = Some(Err(error.clone()));
                }
            }
        }
        unanswered(results)
    }

    /// Runs each edit's `UPDATE` in one transaction: whether each found its live row.
    async fn apply_in_transaction(
        &self,
        items: &[ApplyItem],
        edits: Vec<(usize, JsonEdit)>,
        update: fn(&str, &str) -> String,
    ) -> Result<Vec<bool>, sqlx::Error> {
        let mut tx = self.pool().begin().await?;
        let mut applied = Vec::with_capacity(edits.len());
        for (n, edit) in edits {
            let item = &items[n];
            let sql = update(self.quoted(), &edit.sql);
            let now = self.clock().now();
            let mut query = edit
                .bind(sqlx::query(&sql))
                .bind(expiry(now, item.ttl))
                .bind(item.id.as_str());
            if let Some(now) = now {
                query = query.bind(now);
            }
            applied.push(DB::rows_affected(&query.execute(&mut *tx).await?) == 1);
        }
        tx.commit().await?;
        Ok(applied)
    }
}
