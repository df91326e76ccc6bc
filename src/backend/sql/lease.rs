//! [`Lease`]: a connection taken from the pool for one operation, which goes back to the pool
//! only when the operation ran to its end.

use std::ops::{Deref, DerefMut};

use sqlx::pool::PoolConnection;
use sqlx::{Database, Pool};

/// A pool connection held by one operation.
///
/// [`release`](Self::release)d, it goes back to the pool. Dropped without (the operation timed
/// out or was cancelled while a statement was on the wire), it is closed instead: it may be
/// stuck on a dead socket, or half way through a reply, and sqlx would otherwise return it to
/// the pool, whose check of it could wait for ever on that socket while counting against the
/// pool's size.
pub(super) struct Lease<DB: Database> {
    connection: PoolConnection<DB>,
    released: bool,
}

impl<DB: Database> Lease<DB> {
    /// A connection from `pool` (sqlx checks an idle one before handing it out).
    pub(super) async fn acquire(pool: &Pool<DB>) -> Result<Self, sqlx::Error> {
        Ok(Self {
            connection: pool.acquire().await?,
            released: false,
        })
    }

    /// The operation is over, whatever its result: the connection goes back to the pool.
    pub(super) fn release(mut self) {
        self.released = true;
    }
}

impl<DB: Database> Deref for Lease<DB> {
    type Target = DB::Connection;

    fn deref(&self) -> &DB::Connection {
        &self.connection
    }
}

impl<DB: Database> DerefMut for Lease<DB> {
    fn deref_mut(&mut self) -> &mut DB::Connection {
        &mut self.connection
    }
}

impl<DB: Database> Drop for Lease<DB> {
    fn drop(&mut self) {
        if !self.released {
            // sqlx then closes the connection rather than return it to the pool (in a task of
            // its own, which gives up on a stuck socket after 5 s), which frees its place in
            // the pool for a new one.
            self.connection.close_on_drop();
        }
    }
}
