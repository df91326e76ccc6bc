//! [`Drain`]: moving the sessions nobody uses out of a [`MigratingBackend`]'s old backend.

use std::collections::VecDeque;

use time::Duration;

use super::changes::Changes;
use super::error::BackendError;
use super::listing::{Listed, Pages};
use super::migrating::{MigratingBackend, Move};
use crate::config_error::ConfigError;

/// Moves every session left in a [`MigratingBackend`]'s old backend to its new one, a batch
/// at a time: made by [`MigratingBackend::drain`]. Each session moves as a save would move it,
/// keeping the time it has left; one that a request saved or a logout deleted meanwhile is
/// left to them (and counted as skipped).
///
/// [`run`](Self::run) drains to the end, logging its progress at `INFO` after each batch;
/// [`step`](Self::step) does one batch, for a loop of your own. After an error, calling either
/// again resumes where the drain stopped.
pub struct Drain {
    backend: MigratingBackend,
    pages: Box<dyn Pages>,
    /// Listed, not yet moved.
    pending: VecDeque<Listed>,
    listed_all: bool,
    batch_size: usize,
    pause: Duration,
    progress: DrainProgress,
}

/// How far a [`Drain`] has got.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct DrainProgress {
    /// Sessions found in the old backend so far.
    pub listed: u64,
    /// Sessions moved to the new backend.
    pub moved: u64,
    /// Sessions that were gone by the time their turn came (moved by a request, logged out,
    /// expired) or already had a copy in the new backend.
    pub skipped: u64,
    /// Whether the whole old backend has been listed and moved: it can be retired.
    pub finished: bool,
}

impl MigratingBackend {
    /// Moves the sessions nobody uses from the old backend to the new one, in the background,
    /// so that the old one can be retired before the longest session lifetime has passed.
    /// Run it while the app serves with this backend: it moves each session as a save would
    /// (a request saving the same session meanwhile, or a logout, wins; nothing is lost or
    /// brought back), keeping the time it has left.
    ///
    /// # Errors
    /// [`ConfigError::InvalidSetting`] when the old backend cannot list its sessions: the
    /// built-in backends can (a Redis Cluster master after master), backends of your own
    /// cannot.
    ///
    /// ```
    /// use axum_session_store::backend::{MemoryBackend, MigratingBackend};
    /// use axum_session_store::SessionConfig;
    /// use time::Duration;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let (old, new) = (MemoryBackend::new(), MemoryBackend::new()); // e.g. Redis and PostgreSQL
    /// let migrating = MigratingBackend::new(old, new)?;
    /// let mut drain = migrating.drain()?.batch_size(500).pause(Duration::milliseconds(50));
    /// let config = SessionConfig::builder()
    ///     .secret_key("an example secret, at least 32 bytes long")
    ///     .default_backend(migrating)
    ///     .build()?;
    /// let drained = tokio::spawn(async move { drain.run().await });
    /// // ... serve with `config` ...
    /// let progress = drained.await??;
    /// assert!(progress.finished);
    /// # Ok(()) }
    /// ```
    pub fn drain(&self) -> Result<Drain, ConfigError> {
        let (listing, old) = self.old_listing();
        let Some(listing) = listing else {
            return Err(ConfigError::InvalidSetting {
                setting: "MigratingBackend::drain",
                problem: format!(
                    "the old backend ({}) cannot list its sessions (a backend of your own): \
                     its idle sessions move only when used, or expire",
                    old
                ),
            });
        };
        Ok(Drain::new(self.clone(), listing.start()))
    }
}

impl Drain {
    /// The sessions of a batch, unless [`batch_size`](Self::batch_size) says otherwise.
    pub const DEFAULT_BATCH_SIZE: usize = 100;

    /// The pause between batches, unless [`pause`](Self::pause) says otherwise.
    pub const DEFAULT_PAUSE: Duration = Duration::milliseconds(100);

    pub(super) fn new(backend: MigratingBackend, pages: Box<dyn Pages>) -> Self {
        Self {
            backend,
            pages,
            pending: VecDeque::new(),
            listed_all: false,
            batch_size: Self::DEFAULT_BATCH_SIZE,
            pause: Self::DEFAULT_PAUSE,
            progress: DrainProgress::default(),
        }
    }

    /// Lists and moves up to `sessions` sessions per batch (at least one).
    #[must_use]
    pub fn batch_size(mut self, sessions: usize) -> Self {
        self.batch_size = sessions.max(1);
        self
    }

    /// Waits `between_batches` after each batch in [`run`](Self::run), to leave both backends
    /// room for the app's own traffic (zero or less: no pause).
    #[must_use]
    pub fn pause(mut self, between_batches: Duration) -> Self {
        self.pause = between_batches;
        self
    }

    /// How far it has got.
    pub fn progress(&self) -> DrainProgress {
        self.progress
    }

    /// Moves one batch: up to the batch size of sessions, listed from the old backend.
    ///
    /// # Errors
    /// When either backend fails; the session it was moving stays in the old backend, and the
    /// next call tries it again.
    pub async fn step(&mut self) -> Result<DrainProgress, BackendError> {
        if self.pending.is_empty() && !self.listed_all {
            let (page, complete) = self.pages.next_page(self.batch_size).await?;
            self.progress.listed += page.len() as u64;
            self.pending.extend(page);
            self.listed_all = complete;
        }
        while let Some(listed) = self.pending.front() {
            let moved = self.move_one(listed).await?;
            self.pending.pop_front();
            if moved {
                self.progress.moved += 1;
            } else {
                self.progress.skipped += 1;
            }
        }
        self.progress.finished = self.listed_all;
        Ok(self.progress)
    }

    /// Moves batch after batch until the old backend is empty of live sessions, pausing
    /// between them, and logs the progress after each.
    ///
    /// # Errors
    /// When either backend fails: what [`step`](Self::step) says.
    pub async fn run(&mut self) -> Result<DrainProgress, BackendError> {
        loop {
            let before = self.progress;
            let progress = self.step().await?;
            if progress.listed == before.listed && !progress.finished {
                // A page of keys that were not sessions (Redis): no work to pause after.
                continue;
            }
            tracing::info!(
                listed = progress.listed,
                moved = progress.moved,
                skipped = progress.skipped,
                finished = progress.finished,
                "draining sessions to the new backend"
            );
            if progress.finished {
                return Ok(progress);
            }
            if let Ok(pause) = std::time::Duration::try_from(self.pause) {
                tokio::time::sleep(pause).await;
            }
        }
    }

    /// Moves `listed`; `false` when it was skipped.
    async fn move_one(&self, listed: &Listed) -> Result<bool, BackendError> {
        if !listed.ttl.is_positive() {
            return Ok(false);
        }
        let id = &listed.id;
        match self
            .backend
            .move_record(id, id, &Changes::new(), listed.ttl)
            .await?
        {
            Move::Done => Ok(true),
            // Taken: a move's old copy whose deletion failed; it expires no later than the new.
            Move::Taken | Move::Gone => Ok(false),
        }
    }
}

impl std::fmt::Debug for Drain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Drain")
            .field("backend", &self.backend)
            .field("batch_size", &self.batch_size)
            .field("pause", &self.pause)
            .field("progress", &self.progress)
            .finish_non_exhaustive()
    }
}
