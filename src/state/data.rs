//! [`SessionData`]: webapp2's `SessionDict`, the values of one session plus what a save needs to
//! know, with the rules that keep the two consistent. Nothing else writes its fields.

use serde_json::{Map, Value};
use time::{Duration, OffsetDateTime};

use crate::backend::seal::Token;
use crate::backend::{ChangeLog, Changes};
use crate::cookie::codec::VerifiedCookie;
use crate::event::RejectionReason;
use crate::expiry::{Creation, Expiry, ExpiryPolicy, Limits, Verdict};
use crate::flash_message::{self, FlashMessage, Level, FLASH_KEY};
use crate::id::SessionId;
use crate::metadata::{cut, Client, StoredMetadata, MAX_LABEL_LEN};
use crate::reserved::CREATED_KEY;
use crate::state::flags::{Flag, Flags};
use crate::state::meta::SessionMeta;

/// One session's values for one request, and its state: new or loaded, modified or not, what to
/// do to its cookie or record when it is saved.
///
/// Every mutating call marks it modified (even setting an equal value, clearing an empty
/// session); reads never do; removing a missing key changes nothing.
#[derive(Debug, Default)]
pub(crate) struct SessionData {
    values: Map<String, Value>,
    /// Where it came from.
    origin: Origin,
    /// What is pending: a change, a removal, a new id, a new signature, a refresh, a conflict.
    flags: Flags,
    /// Server-side sessions: the id of the record the request loaded (or last saved).
    id: Option<SessionId>,
    /// Server-side sessions: the keys changed since loading, for a partial save.
    changes: ChangeLog,
    /// When the session was created, tracked when an absolute lifetime is set.
    creation: Option<Creation>,
    /// What it holds for the crate: its own lifetime, its CSRF secret, its user.
    meta: SessionMeta,
    /// Flash messages for this response only (Rails' `flash.now`): never stored.
    flash_now: Vec<FlashMessage>,
    /// What loading found that the app's events hear of: a refused cookie, an ended session.
    /// (Boxed: rare, and the session's state is moved about on every request.)
    load_event: Option<Box<LoadEvent>>,
    /// The name of the other framework's cookie the session was read from, until a save has
    /// replaced or removed it.
    legacy_cookie: Option<Box<str>>,
}

/// What loading a session found, for the app's events.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum LoadEvent {
    /// The cookie was refused.
    Rejected(RejectionReason),
    /// The session had ended (its record, if it had one, is named).
    Ended(Option<SessionId>),
}

/// Where a session of the request came from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum Origin {
    /// Its cookie: a cookie session, or the record a server-side session's id names.
    Loaded,
    /// No valid cookie came with the request.
    #[default]
    NoCookie,
    /// A server-side session without a record, whose cookie held its CSRF secret or flash
    /// messages.
    HeldInCookie,
    /// The cookie named a record that no longer exists.
    LostRecord,
}

impl SessionData {
    /// A new session with no record yet, whose cookie held its CSRF secret or its pending
    /// flash messages (or both).
    pub(crate) fn new_held_in_cookie(csrf_secret: Option<String>, flashes: Option<Value>) -> Self {
        let mut data = Self::new_from(Origin::HeldInCookie);
        data.meta.csrf_secret = csrf_secret;
        if let Some(flashes) = flashes {
            data.values.insert(FLASH_KEY.to_owned(), flashes);
        }
        data
    }

    /// A new session for a cookie whose record `id` no longer exists: deleted or moved to a new
    /// id by another request (a logout, the other click of a double-clicked login), or expired.
    pub(crate) fn new_after_lost_record(id: SessionId) -> Self {
        Self {
            load_event: Some(Box::new(LoadEvent::Ended(Some(id)))),
            ..Self::new_from(Origin::LostRecord)
        }
    }

    /// A new session holding the `values` of the other framework's cookie `cookie`: modified, so
    /// that the response carries it in this crate's format.
    pub(crate) fn new_imported(values: Map<String, Value>, cookie: &str) -> Self {
        let mut data = Self::new_empty();
        data.values = values;
        data.flags.set(Flag::Modified, true);
        data.legacy_cookie = Some(cookie.into());
        data
    }

    /// Asks the next save to remove the other framework's cookie `cookie`, left beside this
    /// crate's: the response is written even if nothing else changed.
    pub(crate) fn remove_legacy_cookie(&mut self, cookie: &str) {
        self.legacy_cookie = Some(cookie.into());
        self.flags.set(Flag::NeedsResign, true);
    }

    /// The name of the other framework's cookie this session was read from (or that it must
    /// remove), while the client still holds it.
    pub(crate) fn legacy_cookie(&self) -> Option<&str> {
        self.legacy_cookie.as_deref()
    }

    /// A new session for a request whose cookie was refused for `reason`.
    pub(crate) fn new_rejected(reason: RejectionReason) -> Self {
        Self {
            load_event: Some(Box::new(LoadEvent::Rejected(reason))),
            ..Self::new_empty()
        }
    }

    /// What loading found that the app's events hear of, once.
    pub(crate) fn take_load_event(&mut self) -> Option<LoadEvent> {
        self.load_event.take().map(|found| *found)
    }

    /// Whether the session came from a cookie that held what it had (no record), which must go
    /// when that does (a new id rotates the secret; a logout drops it; flashes are taken).
    pub(crate) fn held_in_cookie(&self) -> bool {
        self.origin == Origin::HeldInCookie
    }

    /// Whether the request's cookie named a record that no longer exists.
    pub(crate) fn lost_record(&self) -> bool {
        self.origin == Origin::LostRecord
    }

    /// Marks the request refused because its record was lost (a token of that session could
    /// not be checked): its save reports the conflict, and writes nothing.
    pub(crate) fn mark_conflicted(&mut self) {
        self.flags.set(Flag::Conflicted, true);
    }

    /// Whether [`mark_conflicted`](Self::mark_conflicted) was called.
    pub(crate) fn is_conflicted(&self) -> bool {
        self.flags.has(Flag::Conflicted)
    }

    /// Whether all the session would store is what its cookie can hold for a visitor: its CSRF
    /// secret and its pending flash messages. A server-side session in that state keeps them in
    /// its cookie rather than in a record.
    pub(crate) fn fits_in_cookie(&self) -> bool {
        self.values.keys().all(|key| key == FLASH_KEY)
            && (self.meta.csrf_secret.is_some() || !self.values.is_empty())
            && self.meta.user_id.is_none()
            && self.meta.expiry.is_none()
    }

    /// A session that no valid cookie carried.
    pub(crate) fn new_empty() -> Self {
        Self::new_from(Origin::NoCookie)
    }

    /// A new, empty session from `origin`.
    fn new_from(origin: Origin) -> Self {
        Self {
            origin,
            ..Self::default()
        }
    }

    /// The session of a verified cookie (or, with `id`, of the record it names), once the
    /// expiry `policy` has judged it as of `now`, with `idle` the max age its settings give: a
    /// new empty one past any of its limits (its own lifetime, chosen with
    /// [`set_expiry`](Self::set_expiry), replaces `idle`). Reserved keys never show among the
    /// values, whatever the policy.
    pub(crate) fn judged(
        policy: ExpiryPolicy,
        idle: Option<Duration>,
        name: &str,
        mut verified: VerifiedCookie,
        now: OffsetDateTime,
        id: Option<SessionId>,
    ) -> Self {
        let stored = verified
            .data
            .remove(CREATED_KEY)
            .and_then(|created| created.as_i64());
        let meta = SessionMeta::take_from(&mut verified.data);
        let saved_at = verified.signed_at.unix_timestamp();
        let limits = Limits::of(meta.expiry, idle);
        match policy.judge(stored, saved_at, now.unix_timestamp(), limits) {
            Verdict::Ended(why) => {
                tracing::debug!(session = name, why, "session ended; starting a new session");
                Self {
                    load_event: Some(Box::new(LoadEvent::Ended(id))),
                    ..Self::new_empty()
                }
            }
            Verdict::Live { creation, refresh } => Self {
                origin: Origin::Loaded,
                values: verified.data,
                flags: {
                    let mut flags = Flags::default();
                    flags.set(Flag::NeedsResign, verified.signed_with_fallback);
                    flags.set(Flag::NeedsRefresh, refresh);
                    flags.set(
                        Flag::NeedsReseal,
                        meta.seal.as_ref().is_some_and(Token::is_stale),
                    );
                    flags
                },
                creation,
                // Only records track their changes: a cookie is always written whole.
                changes: if id.is_some() {
                    ChangeLog::tracking()
                } else {
                    ChangeLog::default()
                },
                id,
                meta,
                ..Self::default()
            },
        }
    }

    /// The values.
    pub(crate) fn values(&self) -> &Map<String, Value> {
        &self.values
    }

    /// True when no valid session came with the request.
    pub(crate) fn is_new(&self) -> bool {
        self.origin != Origin::Loaded
    }

    /// True when a mutating call happened since the session was loaded or last saved.
    pub(crate) fn is_modified(&self) -> bool {
        self.flags.has(Flag::Modified)
    }

    /// Whether the response must carry something for this session.
    pub(crate) fn needs_save(&self) -> bool {
        self.flags.has(Flag::Modified)
            || self.flags.has(Flag::NeedsResign)
            || self.flags.has(Flag::NeedsRefresh)
            || self.flags.has(Flag::LastSeenDue)
            || self.flags.has(Flag::NeedsReseal)
    }

    /// Records the request's client (`client()` says what is kept of it) at `now` in the
    /// session's metadata (a server-side session, metadata on). A new session keeps it for its
    /// first save, and writes nothing for it; a loaded one last seen `interval` ago or longer
    /// writes it, with the request's save or one of its own. A loaded session seen more
    /// recently costs nothing: `client` is not called.
    pub(crate) fn observe(
        &mut self,
        client: impl FnOnce() -> Client,
        interval: Duration,
        now: OffsetDateTime,
    ) {
        if self.origin != Origin::Loaded {
            self.meta.device = Some(Box::new(StoredMetadata::new(&client(), now)));
            return;
        }
        match &mut self.meta.device {
            Some(device) if !device.is_due(interval, now) => return,
            Some(device) => device.see(&client(), now),
            None => {
                // A session from before metadata was on: its creation is known only when an
                // absolute lifetime tracks it.
                let created = self.creation.map(|creation| creation.at);
                self.meta.device = Some(Box::new(StoredMetadata {
                    created,
                    ..StoredMetadata::new(&client(), now)
                }));
            }
        }
        self.flags.raise(&[Flag::MetaChanged, Flag::LastSeenDue]);
    }

    /// After [`invalidate`](Self::invalidate): the metadata the new session on the same device
    /// starts with (created now), kept for its first save.
    pub(crate) fn restart_device(&mut self, device: StoredMetadata) {
        self.meta.device = Some(Box::new(device));
    }

    /// Whether the metadata's last-seen time is due to be written.
    pub(crate) fn last_seen_due(&self) -> bool {
        self.flags.has(Flag::LastSeenDue)
    }

    /// Whether its sealed record holds something under a fallback secret, to write again.
    pub(crate) fn needs_reseal(&self) -> bool {
        self.flags.has(Flag::NeedsReseal)
    }

    /// Sets the app's label for the session's device, cut to [`MAX_LABEL_LEN`] bytes.
    pub(crate) fn set_device_label(&mut self, label: &str) {
        let device = self.meta.device.get_or_insert_with(Box::default);
        device.label = Some(cut(label, MAX_LABEL_LEN));
        self.flags.raise(&[Flag::MetaChanged, Flag::Modified]);
    }

    /// Nothing is left worth keeping (no value, no CSRF secret, no user): a save deletes the
    /// cookie and the record instead of writing `{}`, and a new session writes nothing.
    pub(crate) fn is_emptied(&self) -> bool {
        self.values.is_empty() && !self.meta.holds_state()
    }

    /// What it holds for the crate.
    pub(crate) fn meta(&self) -> &SessionMeta {
        &self.meta
    }

    /// The metadata changed since the session was loaded or last saved: a save writes it.
    pub(crate) fn meta_changed(&self) -> bool {
        self.flags.has(Flag::MetaChanged)
    }

    /// Gives the session a lifetime of its own (`None`: the config's again).
    pub(crate) fn set_expiry(&mut self, expiry: Option<Expiry>) {
        self.meta.expiry = expiry;
        self.flags.raise(&[Flag::MetaChanged, Flag::Modified]);
    }

    /// Sets the CSRF secret.
    pub(crate) fn set_csrf_secret(&mut self, secret: String) {
        self.meta.csrf_secret = Some(secret);
        self.flags.raise(&[Flag::MetaChanged, Flag::Modified]);
    }

    /// Ties the session to a user.
    pub(crate) fn set_user_id(&mut self, user_id: String) {
        self.meta.user_id = Some(user_id);
        self.flags
            .raise(&[Flag::MetaChanged, Flag::Modified, Flag::UserSet]);
    }

    /// Whether the session was tied to a user since it was loaded or last saved.
    pub(crate) fn user_was_set(&self) -> bool {
        self.flags.has(Flag::UserSet)
    }

    /// The id of its record, for a server-side session that has one.
    pub(crate) fn id(&self) -> Option<&SessionId> {
        self.id.as_ref()
    }

    /// `invalidate()` was called since the last save.
    pub(crate) fn is_invalidated(&self) -> bool {
        self.flags.has(Flag::Invalidated)
    }

    /// `regenerate_id()` was called since the last save.
    pub(crate) fn wants_new_id(&self) -> bool {
        self.flags.has(Flag::Regenerate)
    }

    /// Its cookie verified with a fallback key, and has not been signed again yet.
    pub(crate) fn needs_resign(&self) -> bool {
        self.flags.has(Flag::NeedsResign)
    }

    /// A rolling refresh is due.
    pub(crate) fn needs_refresh(&self) -> bool {
        self.flags.has(Flag::NeedsRefresh)
    }

    /// When it was created, if tracked.
    pub(crate) fn creation(&self) -> Option<Creation> {
        self.creation
    }

    /// What the request did to the record it loaded, with the current values of the keys set.
    pub(crate) fn changes(&self) -> Changes {
        self.changes.to_changes(&self.values)
    }

    /// Stores `value` under `key`; replacing a value keeps the stored key (no allocation).
    pub(crate) fn insert(&mut self, key: &str, value: Value) {
        self.changes.set(key);
        self.flags.set(Flag::Modified, true);
        match self.values.get_mut(key) {
            Some(slot) => *slot = value,
            None => {
                self.values.insert(key.to_owned(), value);
            }
        }
    }

    /// Removes `key`, recording the change only when it was there.
    pub(crate) fn remove(&mut self, key: &str) -> Option<Value> {
        let removed = self.values.remove(key);
        if removed.is_some() {
            self.changes.remove(key);
            self.flags.set(Flag::Modified, true);
        }
        removed
    }

    /// Removes every key.
    pub(crate) fn clear(&mut self) {
        self.values.clear();
        self.changes.clear();
        self.flags.set(Flag::Modified, true);
    }

    /// Ends the session: every key goes, with its lifetime, CSRF secret and user; the client's
    /// copy is to be removed, and what comes after is a new session with a lifetime of its own.
    pub(crate) fn invalidate(&mut self) {
        self.clear();
        self.flags.set(Flag::Invalidated, true);
        self.creation = None;
        self.meta = SessionMeta::default();
        self.flags.set(Flag::MetaChanged, true);
    }

    /// Asks for a new id at the next save (a cookie session is simply written again); the CSRF
    /// secret goes with the old id, so tokens handed out before stop working.
    pub(crate) fn regenerate_id(&mut self) {
        self.flags.raise(&[Flag::Regenerate, Flag::Modified]);
        if self.meta.csrf_secret.take().is_some() {
            self.flags.set(Flag::MetaChanged, true);
        }
    }

    /// Appends a flash message to the list under `_flash`, keeping the newest `max`.
    pub(crate) fn add_flash(&mut self, message: Value, level: Option<Level>, max: usize) {
        flash_message::push(&mut self.values, message, level, max);
        self.changes.set(FLASH_KEY);
        self.flags.set(Flag::Modified, true);
    }

    /// Adds a flash message for this response only: it is never stored.
    pub(crate) fn add_flash_now(&mut self, message: Value, level: Option<Level>) {
        self.flash_now.push(FlashMessage { message, level });
    }

    /// Takes the flash messages, the stored ones first, then those for this response only (an
    /// empty list when there are none, which changes nothing).
    pub(crate) fn take_flashes(&mut self) -> Vec<FlashMessage> {
        let mut taken = match self.remove(FLASH_KEY) {
            Some(stored) => flash_message::messages(stored),
            None => Vec::new(),
        };
        taken.append(&mut self.flash_now);
        taken
    }

    /// The flash messages [`take_flashes`](Self::take_flashes) would take, left in place.
    pub(crate) fn peek_flashes(&self) -> Vec<FlashMessage> {
        let mut messages = match self.values.get(FLASH_KEY) {
            Some(stored) => flash_message::messages(stored.clone()),
            None => Vec::new(),
        };
        messages.extend(self.flash_now.iter().cloned());
        messages
    }

    /// The server-side record was written: the session is the record `id` now (none after a
    /// removal), with `creation` stored in it, and later changes are sent as changes.
    pub(crate) fn saved_to_record(&mut self, id: Option<SessionId>, creation: Option<Creation>) {
        self.id = id;
        self.flags.set(Flag::Invalidated, false);
        self.creation = creation;
        self.changes = ChangeLog::tracking();
    }

    /// The save this session was part of went out whole: a second save of the same request
    /// writes nothing, and a creation time that was written counts as stored.
    pub(crate) fn mark_saved(&mut self) {
        self.flags.clear(&[
            Flag::Modified,
            Flag::NeedsResign,
            Flag::Regenerate,
            Flag::NeedsRefresh,
            Flag::MetaChanged,
            Flag::LastSeenDue,
            Flag::UserSet,
            Flag::NeedsReseal,
        ]);
        self.changes.reset();
        if let Some(creation) = &mut self.creation {
            creation.stored = true;
        }
        self.legacy_cookie = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use time::Duration;

    fn verified(data: Value, signed_at: OffsetDateTime) -> VerifiedCookie {
        VerifiedCookie {
            data: data.as_object().cloned().unwrap_or_default(),
            signed_at,
            signed_with_fallback: false,
        }
    }

    #[test]
    fn the_reserved_key_never_shows_and_a_past_lifetime_is_a_new_session() {
        let now = OffsetDateTime::now_utc();
        let created = (now - Duration::hours(2)).unix_timestamp();
        let data = json!({"a": 1, "_created": created});
        let no_policy = SessionData::judged(
            ExpiryPolicy::default(),
            None,
            "s",
            verified(data.clone(), now),
            now,
            None,
        );
        assert_eq!(Value::Object(no_policy.values().clone()), json!({"a": 1}));
        let lifetime = ExpiryPolicy {
            absolute_max_age: Some(Duration::hours(1)),
            rolling_refresh: None,
        };
        let past = SessionData::judged(lifetime, None, "s", verified(data, now), now, None);
        assert!(past.is_new() && past.values().is_empty());
    }

    #[test]
    fn only_records_track_changes_and_saving_resets_them() {
        let now = OffsetDateTime::now_utc();
        let id = SessionId::generate().unwrap();
        let policy = ExpiryPolicy::default();
        let mut record = SessionData::judged(
            policy,
            None,
            "s",
            verified(json!({"a": 1}), now),
            now,
            Some(id),
        );
        record.insert("b", json!(2));
        record.remove("a");
        assert_eq!(
            record.changes(),
            Changes {
                cleared: false,
                removed: vec!["a".into()],
                set: vec![("b".into(), json!(2))],
            }
        );
        record.mark_saved();
        assert!(!record.needs_save() && record.changes().is_empty());

        let mut cookie =
            SessionData::judged(policy, None, "s", verified(json!({}), now), now, None);
        cookie.insert("b", json!(2));
        assert!(cookie.changes().is_empty(), "a cookie is written whole");
        assert!(cookie.is_modified());
    }

    #[test]
    fn invalidate_clears_and_forgets_the_creation() {
        let mut data = SessionData::new_empty();
        data.insert("a", json!(1));
        data.invalidate();
        assert!(data.is_invalidated() && data.values().is_empty() && data.is_modified());
        assert_eq!(data.creation(), None);
        assert_eq!(data.take_flashes(), Vec::new());
        data.add_flash(json!("hi"), Some(Level::Info), 8);
        assert_eq!(data.take_flashes().len(), 1);
        data.add_flash(json!("stored"), None, 8);
        data.add_flash_now(json!("now"), None);
        let texts = |messages: Vec<FlashMessage>| -> Vec<String> {
            messages.iter().map(ToString::to_string).collect()
        };
        assert_eq!(texts(data.peek_flashes()), ["stored", "now"]);
        assert_eq!(
            texts(data.peek_flashes()),
            ["stored", "now"],
            "peeking takes nothing"
        );
        assert_eq!(texts(data.take_flashes()), ["stored", "now"]);
        assert!(data.peek_flashes().is_empty());
    }
}
