//! `table_backend!`: the `Debug` and [`SessionBackend`](crate::SessionBackend) impls every SQL
//! backend shares, written once.

/// Implements `Debug` and [`SessionBackend`](crate::SessionBackend) for `$backend`, a struct
/// whose field `table` is its [`Table`], `max_batch` its batch size and `waiting` its queue's
/// bounds: `apply`, `load_many` and `apply_many` run the backend's own `apply_changes`,
/// `load_batch` and `apply_batch` methods, and every other operation runs as the table runs it;
/// each within the table's timeout ([`Table::bounded`]).
#[cfg(any(feature = "postgres", feature = "sqlite", feature = "mysql"))]
macro_rules! table_backend {
    ($backend:ident) => {
        const _: () = {
            use std::fmt;

            use time::Duration;

            use crate::backend::changes::Changes;
            use crate::backend::error::BackendError;
            use crate::backend::session_backend::{
                ApplyItem, BoxFuture, Record, Regenerated, SessionBackend,
            };
            use crate::id::SessionId;

            impl fmt::Debug for $backend {
                fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                    f.debug_struct(stringify!($backend))
                        .field("table", &self.table.name().display())
                        .finish_non_exhaustive()
                }
            }

            impl SessionBackend for $backend {
                fn load<'a>(
                    &'a self,
                    id: &'a SessionId,
                ) -> BoxFuture<'a, Result<Option<Record>, BackendError>> {
                    Box::pin(self.table.bounded("load a session", self.table.load(id)))
                }

                fn create<'a>(
                    &'a self,
                    id: &'a SessionId,
                    record: &'a Record,
                    ttl: Duration,
                ) -> BoxFuture<'a, Result<bool, BackendError>> {
                    Box::pin(
                        self.table
                            .bounded("create a session", self.table.create(id, record, ttl)),
                    )
                }

                fn apply<'a>(
                    &'a self,
                    id: &'a SessionId,
                    changes: &'a Changes,
                    ttl: Duration,
                ) -> BoxFuture<'a, Result<bool, BackendError>> {
                    Box::pin(
                        self.table
                            .bounded("save a session", self.apply_changes(id, changes, ttl)),
                    )
                }

                fn regenerate<'a>(
                    &'a self,
                    old: &'a SessionId,
                    new: &'a SessionId,
                    changes: &'a Changes,
                    ttl: Duration,
                ) -> BoxFuture<'a, Result<Regenerated, BackendError>> {
                    Box::pin(self.table.bounded(
                        "move a session to a new id",
                        self.table.regenerate(old, new, changes, ttl),
                    ))
                }

                fn delete<'a>(
                    &'a self,
                    id: &'a SessionId,
                ) -> BoxFuture<'a, Result<(), BackendError>> {
                    Box::pin(
                        self.table
                            .bounded("delete a session", self.table.delete(id)),
                    )
                }

                fn delete_expired(&self) -> BoxFuture<'_, Result<u64, BackendError>> {
                    Box::pin(
                        self.table
                            .bounded("delete expired sessions", self.table.delete_expired()),
                    )
                }

                fn max_batch_size(&self) -> usize {
                    self.max_batch
                }

                fn max_queue_len(&self) -> usize {
                    self.waiting.total
                }

                fn max_queue_len_per_session(&self) -> usize {
                    self.waiting.per_session
                }

                fn load_many<'a>(
                    &'a self,
                    ids: &'a [SessionId],
                ) -> BoxFuture<'a, Vec<Result<Option<Record>, BackendError>>> {
                    Box::pin(self.table.bounded_each(
                        "load sessions",
                        ids.len(),
                        self.load_batch(ids),
                    ))
                }

                fn apply_many<'a>(
                    &'a self,
                    items: &'a [ApplyItem],
                ) -> BoxFuture<'a, Vec<Result<bool, BackendError>>> {
                    Box::pin(self.table.bounded_each(
                        "save sessions",
                        items.len(),
                        self.apply_batch(items),
                    ))
                }

                fn user_sessions<'a>(
                    &'a self,
                    user_id: &'a str,
                ) -> BoxFuture<'a, Result<Vec<SessionId>, BackendError>> {
                    Box::pin(
                        self.table
                            .bounded("list a user's sessions", self.table.user_sessions(user_id)),
                    )
                }

                fn revoke_user_sessions<'a>(
                    &'a self,
                    user_id: &'a str,
                    except: Option<&'a SessionId>,
                ) -> BoxFuture<'a, Result<u64, BackendError>> {
                    Box::pin(self.table.bounded(
                        "revoke a user's sessions",
                        self.table.revoke_user_sessions(user_id, except),
                    ))
                }
            }
        };
    };
}
pub(super) use table_backend;
