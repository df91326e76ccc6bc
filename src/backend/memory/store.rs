//! The memory backend's records under its lock: by id, by expiry (soonest first) and by user,
//! with the bytes they weigh, kept consistent by every change.

use std::collections::{BTreeSet, HashMap};
use std::ops::Bound;

use time::Duration;
use tokio::time::Instant;

use crate::backend::session_backend::Record;
use crate::id::SessionId;
use crate::reserved::USER_KEY;

/// The records, ordered by expiry too, and what they weigh.
#[derive(Debug, Default)]
pub(super) struct Store {
    pub(super) records: HashMap<SessionId, Entry>,
    /// Every record's `(expires_at, id)`, soonest first.
    by_expiry: BTreeSet<(Instant, SessionId)>,
    /// The ids of the records tied to each user (by the reserved `_user` key), so that a user's
    /// sessions are found without looking at anyone else's.
    by_user: HashMap<String, BTreeSet<SessionId>>,
    /// The sum of the records' sizes.
    pub(super) bytes: usize,
}

/// One record, with its expiry and size.
#[derive(Debug)]
pub(super) struct Entry {
    pub(super) record: Record,
    expires_at: Instant,
    /// What [`record_size`] said when the record was last written.
    pub(super) size: usize,
}

impl Entry {
    /// When the record expires.
    pub(super) fn expires_at(&self) -> Instant {
        self.expires_at
    }

    fn is_live(&self, now: Instant) -> bool {
        self.expires_at > now
    }
}

impl Store {
    /// Deletes up to `limit` expired records, the soonest expired first.
    pub(super) fn sweep(&mut self, now: Instant, limit: usize) {
        for _ in 0..limit {
            match self.by_expiry.first() {
                Some((expires_at, _)) if *expires_at <= now => {
                    if let Some((_, id)) = self.by_expiry.pop_first() {
                        self.forget(&id);
                    }
                }
                _ => return,
            }
        }
    }

    /// Deletes the record closest to expiry but `keep`; false when there is none.
    pub(super) fn evict_soonest(&mut self, keep: Option<&SessionId>) -> bool {
        let victim = self
            .by_expiry
            .iter()
            .find(|(_, id)| Some(id) != keep)
            .cloned();
        match victim {
            Some(victim) => {
                self.by_expiry.remove(&victim);
                self.forget(&victim.1);
                true
            }
            None => false,
        }
    }

    /// Removes the record `id` (already out of `by_expiry`) and its bytes.
    fn forget(&mut self, id: &SessionId) -> Option<Entry> {
        let entry = self.records.remove(id)?;
        self.bytes -= entry.size;
        if let Some(user) = user_of(&entry.record) {
            if let Some(ids) = self.by_user.get_mut(user) {
                ids.remove(id);
                if ids.is_empty() {
                    self.by_user.remove(user);
                }
            }
        }
        Some(entry)
    }

    /// Removes the record `id` from both indexes.
    pub(super) fn remove(&mut self, id: &SessionId) -> Option<Entry> {
        let entry = self.forget(id)?;
        self.by_expiry.remove(&(entry.expires_at, id.clone()));
        Some(entry)
    }

    /// Stores `record` under `id`, replacing any record there.
    pub(super) fn insert(
        &mut self,
        id: SessionId,
        record: Record,
        size: usize,
        expires_at: Instant,
    ) {
        self.remove(&id);
        self.by_expiry.insert((expires_at, id.clone()));
        self.bytes += size;
        if let Some(user) = user_of(&record) {
            self.by_user
                .entry(user.to_owned())
                .or_default()
                .insert(id.clone());
        }
        self.records.insert(
            id,
            Entry {
                record,
                expires_at,
                size,
            },
        );
    }

    /// The ids of the live records tied to `user_id`, in order.
    pub(super) fn ids_of_user(&self, user_id: &str, now: Instant) -> Vec<SessionId> {
        let Some(ids) = self.by_user.get(user_id) else {
            return Vec::new();
        };
        ids.iter()
            .filter(|id| self.live(id, now).is_some())
            .cloned()
            .collect()
    }

    /// Up to `limit` live records that expire after `after` (by `(expires_at, id)`, soonest
    /// first), with their expiry.
    pub(super) fn live_after(
        &self,
        after: Option<&(Instant, SessionId)>,
        now: Instant,
        limit: usize,
    ) -> Vec<(Instant, SessionId)> {
        let start = match after {
            Some(after) => Bound::Excluded(after),
            None => Bound::Unbounded,
        };
        self.by_expiry
            .range::<(Instant, SessionId), _>((start, Bound::Unbounded))
            .filter(|(expires_at, _)| *expires_at > now)
            .take(limit)
            .cloned()
            .collect()
    }

    /// The live record `id`.
    pub(super) fn live(&self, id: &SessionId, now: Instant) -> Option<&Entry> {
        self.records.get(id).filter(|entry| entry.is_live(now))
    }
}

/// The user a record is tied to (its reserved `_user` key).
fn user_of(record: &Record) -> Option<&str> {
    record.get(USER_KEY).and_then(|user| user.as_str())
}

/// The instant `ttl` from `now`: at once for a TTL of zero or less, and "practically never"
/// for one too large for the clock.
pub(super) fn expiry(now: Instant, ttl: Duration) -> Instant {
    if !ttl.is_positive() {
        return now;
    }
    std::time::Duration::try_from(ttl)
        .ok()
        .and_then(|ttl| now.checked_add(ttl))
        .unwrap_or(now + std::time::Duration::from_secs(100 * 365 * 24 * 3600))
}
