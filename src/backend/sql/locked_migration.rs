//! [`LockedMigration`]: a migration that holds a named lock (MySQL's `GET_LOCK`) while it
//! looks at the table and changes it, so that two processes never change it at once.

use sqlx::{Executor, FromRow, IntoArguments};

use super::table::{Driver, Table};
use crate::backend::error::BackendError;

/// The statements of a migration under a named lock, of a table whose `user_id` column may
/// be missing or of an earlier type.
#[derive(Debug)]
pub(super) struct LockedMigration {
    /// The lock's name.
    pub(super) lock: String,
    /// Takes the lock named by its one parameter, waiting at most `wait_seconds`: 1 once held.
    pub(super) take: String,
    /// Releases the lock named by its one parameter.
    pub(super) release: &'static str,
    pub(super) wait_seconds: i64,
    /// Creates the table unless it exists.
    pub(super) create: String,
    /// The type of the `user_id` column of the table named by its one parameter, if it has
    /// one.
    pub(super) column_type: &'static str,
    /// The type `user_id` has now (compared ignoring case).
    pub(super) current_type: &'static str,
    /// Adds the `user_id` column to a table without one.
    pub(super) add: String,
    /// Changes a `user_id` column of another type to the current one.
    pub(super) convert: String,
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
{
    /// Runs `migration` on one connection, under its lock. On an error the connection is
    /// closed rather than returned to the pool, which releases the lock too.
    pub(super) async fn migrate_locked(
        &self,
        migration: &LockedMigration,
    ) -> Result<(), BackendError> {
        let mut lease = self.lease().await?;
        let locked: i64 = sqlx::query_scalar(&migration.take)
            .bind(migration.lock.as_str())
            .fetch_one(&mut *lease)
            .await
            .map_err(self.failed("take the migration lock"))?;
        if locked != 1 {
            return Err(BackendError::msg(format!(
                "{}: another process held the migration lock of table {} for {} s; run \
                 migrate again once it is done",
                self.database(),
                self.name().display(),
                migration.wait_seconds
            )));
        }
        // `Executor::execute`: `RawSql::execute`, an `async fn` generic over the executor, makes
        // a future the compiler cannot prove `Send` here.
        (&mut *lease)
            .execute(sqlx::raw_sql(&migration.create))
            .await
            .map_err(self.failed("create the session table"))?;
        let column_type: Option<String> = sqlx::query_scalar(migration.column_type)
            .bind(self.name().table())
            .fetch_optional(&mut *lease)
            .await
            .map_err(self.failed("look up the session table's columns"))?;
        let change = match column_type {
            None => Some(&migration.add),
            Some(kind) if !kind.eq_ignore_ascii_case(migration.current_type) => {
                Some(&migration.convert)
            }
            Some(_) => None,
        };
        if let Some(change) = change {
            (&mut *lease)
                .execute(sqlx::raw_sql(change))
                .await
                .map_err(self.failed("bring the user_id column up to date"))?;
        }
        let _released: i64 = sqlx::query_scalar(migration.release)
            .bind(migration.lock.as_str())
            .fetch_one(&mut *lease)
            .await
            .map_err(self.failed("release the migration lock"))?;
        lease.release();
        Ok(())
    }
}
