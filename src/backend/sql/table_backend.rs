//! [`TableBackend`]: what an SQL backend adds to its [`Table`](super::table::Table) (its own
//! `apply` and batches); every public backend trait is implemented once here, for all three.

use std::fmt;
use std::future::Future;

use sqlx::{Database, Encode, Executor, FromRow, IntoArguments, Type};
use time::Duration;

use super::table::{Driver, Table};
use crate::backend::batching::{ApplyItem, BatchLimits, Batching};
use crate::backend::changes::Changes;
use crate::backend::cleanup::DeleteExpired;
use crate::backend::error::BackendError;
use crate::backend::listing::{ListRecords, Listed};
use crate::backend::session_backend::{Record, Regenerated, SessionBackend};
use crate::backend::user_index::{UserIndex, UserSession};
use crate::id::SessionId;

/// An SQL backend: its table, and the operations each database runs its own way.
pub(super) trait TableBackend: fmt::Debug + Send + Sync + 'static {
    /// The table's operations.
    type Table: TableOps;

    fn table(&self) -> &Self::Table;

    /// How its loads and saves are batched.
    fn limits(&self) -> BatchLimits;

    /// [`SessionBackend::apply`], unbounded.
    fn apply_changes(
        &self,
        id: &SessionId,
        changes: &Changes,
        ttl: Duration,
    ) -> impl Future<Output = Result<bool, BackendError>> + Send;

    /// [`Batching::load_many`], unbounded.
    fn load_batch(
        &self,
        ids: &[SessionId],
    ) -> impl Future<Output = Vec<Result<Option<Record>, BackendError>>> + Send;

    /// [`Batching::apply_many`], unbounded.
    fn apply_batch(
        &self,
        items: &[ApplyItem],
    ) -> impl Future<Output = Vec<Result<bool, BackendError>>> + Send;
}

/// What every table does the same way, whatever its database; each operation unbounded but
/// [`bounded`](Self::bounded).
pub(super) trait TableOps: Send + Sync {
    fn load(
        &self,
        id: &SessionId,
    ) -> impl Future<Output = Result<Option<Record>, BackendError>> + Send;

    fn create(
        &self,
        id: &SessionId,
        record: &Record,
        ttl: Duration,
    ) -> impl Future<Output = Result<bool, BackendError>> + Send;

    fn regenerate(
        &self,
        old: &SessionId,
        new: &SessionId,
        changes: &Changes,
        ttl: Duration,
    ) -> impl Future<Output = Result<Regenerated, BackendError>> + Send;

    fn delete(&self, id: &SessionId) -> impl Future<Output = Result<(), BackendError>> + Send;

    fn delete_expired(&self) -> impl Future<Output = Result<u64, BackendError>> + Send;

    fn user_sessions(
        &self,
        user_id: &str,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<UserSession>, BackendError>> + Send;

    fn live_after(
        &self,
        cursor: &mut String,
        limit: usize,
    ) -> impl Future<Output = Result<(Vec<Listed>, bool), BackendError>> + Send;

    fn revoke_user_sessions(
        &self,
        user_id: &str,
        except: Option<&SessionId>,
    ) -> impl Future<Output = Result<u64, BackendError>> + Send;

    /// `work`, the operation `action`, within the table's timeout.
    fn bounded<T: Send>(
        &self,
        action: &'static str,
        work: impl Future<Output = Result<T, BackendError>> + Send,
    ) -> impl Future<Output = Result<T, BackendError>> + Send;

    /// [`bounded`](Self::bounded) for `n` operations in one batch: each fails if it runs out.
    fn bounded_each<T: Send>(
        &self,
        action: &'static str,
        n: usize,
        work: impl Future<Output = Vec<Result<T, BackendError>>> + Send,
    ) -> impl Future<Output = Vec<Result<T, BackendError>>> + Send;
}

impl<DB> TableOps for Table<DB>
where
    DB: Driver,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
    for<'q> String: Encode<'q, DB> + Type<DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
    for<'q> bool: Encode<'q, DB> + Type<DB>,
    for<'q> Option<&'q str>: Encode<'q, DB> + Type<DB>,
    for<'r> (String,): FromRow<'r, DB::Row>,
    for<'r> (i64,): FromRow<'r, DB::Row>,
    for<'r> (String, Option<String>, i64): FromRow<'r, DB::Row>,
    for<'r> (String, i64): FromRow<'r, DB::Row>,
    DB: Database,
{
    fn load(
        &self,
        id: &SessionId,
    ) -> impl Future<Output = Result<Option<Record>, BackendError>> + Send {
        Table::load(self, id)
    }

    fn create(
        &self,
        id: &SessionId,
        record: &Record,
        ttl: Duration,
    ) -> impl Future<Output = Result<bool, BackendError>> + Send {
        Table::create(self, id, record, ttl)
    }

    fn regenerate(
        &self,
        old: &SessionId,
        new: &SessionId,
        changes: &Changes,
        ttl: Duration,
    ) -> impl Future<Output = Result<Regenerated, BackendError>> + Send {
        Table::regenerate(self, old, new, changes, ttl)
    }

    fn delete(&self, id: &SessionId) -> impl Future<Output = Result<(), BackendError>> + Send {
        Table::delete(self, id)
    }

    fn delete_expired(&self) -> impl Future<Output = Result<u64, BackendError>> + Send {
        Table::delete_expired(self)
    }

    fn user_sessions(
        &self,
        user_id: &str,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<UserSession>, BackendError>> + Send {
        Table::user_sessions(self, user_id, limit)
    }

    fn live_after(
        &self,
        cursor: &mut String,
        limit: usize,
    ) -> impl Future<Output = Result<(Vec<Listed>, bool), BackendError>> + Send {
        Table::live_after(self, cursor, limit)
    }

    fn revoke_user_sessions(
        &self,
        user_id: &str,
        except: Option<&SessionId>,
    ) -> impl Future<Output = Result<u64, BackendError>> + Send {
        Table::revoke_user_sessions(self, user_id, except)
    }

    fn bounded<T: Send>(
        &self,
        action: &'static str,
        work: impl Future<Output = Result<T, BackendError>> + Send,
    ) -> impl Future<Output = Result<T, BackendError>> + Send {
        Table::bounded(self, action, work)
    }

    fn bounded_each<T: Send>(
        &self,
        action: &'static str,
        n: usize,
        work: impl Future<Output = Vec<Result<T, BackendError>>> + Send,
    ) -> impl Future<Output = Vec<Result<T, BackendError>>> + Send {
        Table::bounded_each(self, action, n, work)
    }
}

impl<T: TableBackend> SessionBackend for T {
    async fn load(&self, id: &SessionId) -> Result<Option<Record>, BackendError> {
        let table = self.table();
        table.bounded("load a session", table.load(id)).await
    }

    async fn create(
        &self,
        id: &SessionId,
        record: &Record,
        ttl: Duration,
    ) -> Result<bool, BackendError> {
        let table = self.table();
        table
            .bounded("create a session", table.create(id, record, ttl))
            .await
    }

    async fn apply(
        &self,
        id: &SessionId,
        changes: &Changes,
        ttl: Duration,
    ) -> Result<bool, BackendError> {
        self.table()
            .bounded("save a session", self.apply_changes(id, changes, ttl))
            .await
    }

    async fn regenerate(
        &self,
        old: &SessionId,
        new: &SessionId,
        changes: &Changes,
        ttl: Duration,
    ) -> Result<Regenerated, BackendError> {
        let table = self.table();
        let moved = table.regenerate(old, new, changes, ttl);
        table.bounded("move a session to a new id", moved).await
    }

    async fn delete(&self, id: &SessionId) -> Result<(), BackendError> {
        let table = self.table();
        table.bounded("delete a session", table.delete(id)).await
    }
}

impl<T: TableBackend> Batching for T {
    async fn load_many(&self, ids: &[SessionId]) -> Vec<Result<Option<Record>, BackendError>> {
        self.table()
            .bounded_each("load sessions", ids.len(), self.load_batch(ids))
            .await
    }

    async fn apply_many(&self, items: &[ApplyItem]) -> Vec<Result<bool, BackendError>> {
        self.table()
            .bounded_each("save sessions", items.len(), self.apply_batch(items))
            .await
    }

    fn batch_limits(&self) -> BatchLimits {
        self.limits()
    }
}

impl<T: TableBackend> UserIndex for T {
    async fn user_sessions(
        &self,
        user_id: &str,
        limit: usize,
    ) -> Result<Vec<UserSession>, BackendError> {
        let table = self.table();
        table
            .bounded(
                "list a user's sessions",
                table.user_sessions(user_id, limit),
            )
            .await
    }

    async fn revoke_user_sessions(
        &self,
        user_id: &str,
        except: Option<&SessionId>,
    ) -> Result<u64, BackendError> {
        let table = self.table();
        let revoked = table.revoke_user_sessions(user_id, except);
        table.bounded("revoke a user's sessions", revoked).await
    }
}

impl<T: TableBackend> DeleteExpired for T {
    async fn delete_expired(&self) -> Result<u64, BackendError> {
        let table = self.table();
        table
            .bounded("delete expired sessions", table.delete_expired())
            .await
    }
}

/// In id order, from the last id listed.
impl<T: TableBackend> ListRecords for T {
    type Cursor = String;

    async fn list_page(
        &self,
        cursor: &mut String,
        limit: usize,
    ) -> Result<(Vec<Listed>, bool), BackendError> {
        let table = self.table();
        table
            .bounded("list the live sessions", table.live_after(cursor, limit))
            .await
    }
}
