//! Planning the save of a server-side session: which backend operation it takes, and what
//! becomes of the id cookie. Pure functions of the session's state, decided under its lock and
//! carried out after it is released.

use serde_json::Value;

use super::id_cookie;
use crate::backend::{Changes, Record};
use crate::expiry::Creation;
use crate::flash_message::FLASH_KEY;
use crate::id::SessionId;
use crate::reserved::{CREATED_KEY, METADATA_KEY, SEAL_KEY};
use crate::state::data::SessionData;

/// What saving one server-side session takes.
#[derive(Debug, PartialEq)]
pub(super) enum Plan {
    /// Sign the same id again (it verified with a fallback key).
    Resign(SessionId),
    /// Restart the record's idle expiry, write `changes` (none, or only the creation time and
    /// the metadata), and sign the id again: a rolling refresh on a read, a last-seen time that
    /// is due, or a re-signed cookie whose record must first store the creation time the
    /// cookie's old timestamp stood for. A record deleted meanwhile is not brought back.
    Refresh(SessionId, Changes),
    /// Apply the request's changes to the record.
    Apply(SessionId, Changes),
    /// Move the record to a fresh id, with the request's changes (`regenerate_id()`).
    Regenerate(SessionId, Changes),
    /// Create a record under a fresh id, after deleting the one it replaces (keys set after
    /// `invalidate()`: the old session ends first, whatever becomes of the new one).
    Create {
        record: Record,
        replaces: Option<SessionId>,
    },
    /// Delete the record, if any, and expire the cookie.
    Remove(Option<SessionId>),
    /// A session with no record that holds only what its cookie can (a visitor shown a form, or
    /// flashed a message): that payload, JSON, goes in the cookie, and nothing is written on
    /// the server.
    HeldInCookie(Vec<u8>),
}

/// The plan for saving `data`, or `None` when it needs no save. `creation` is the creation time
/// to keep in the record (absolute lifetimes), if tracked: it is written with every new record,
/// and into the existing one when the record does not hold it yet (it was inferred from the id
/// cookie's timestamp, which this save may move).
pub(super) fn plan(data: &SessionData, creation: Option<Creation>) -> Option<Plan> {
    if !data.needs_save() {
        return None;
    }
    let old = data.id().cloned();
    if data.is_emptied() {
        // An emptied session deletes its record and cookie; a new one that stayed empty
        // writes nothing.
        return match old {
            Some(id) => Some(Plan::Remove(Some(id))),
            None => (data.is_invalidated() || data.held_in_cookie()).then_some(Plan::Remove(None)),
        };
    }
    if old.is_none() && !data.is_invalidated() && data.fits_in_cookie() {
        let held = id_cookie::held_payload(
            data.meta().csrf_secret.as_deref(),
            data.values().get(FLASH_KEY),
        );
        // Too much to hold: a record takes it.
        if let Some(json) = held {
            return Some(Plan::HeldInCookie(json));
        }
    }
    let created = || creation.map(|c| (CREATED_KEY.to_owned(), Value::from(c.at)));
    let meta = || {
        data.meta()
            .entries()
            .map(|(key, value)| (key.to_owned(), value))
    };
    // A sealed record's own key, which every change to it is sealed under.
    let seal = || {
        data.meta()
            .seal
            .clone()
            .map(|token| (SEAL_KEY.to_owned(), token))
    };
    let store_creation = creation.is_some_and(|c| !c.stored);
    // What the request did to the record it loaded.
    let changes = || {
        let mut changes = data.changes();
        // Clearing the session's keys must not clear what the crate keeps in it.
        if changes.cleared || store_creation {
            changes.set.extend(created());
        }
        if changes.cleared || data.meta_changed() {
            changes.set.extend(meta());
            if !changes.cleared {
                changes
                    .removed
                    .extend(data.meta().unset_keys().map(str::to_owned));
            }
        }
        changes.set.extend(seal());
        changes
    };
    Some(if data.is_invalidated() || old.is_none() {
        let mut record = data.values().clone();
        record.extend(created());
        record.extend(meta());
        Plan::Create {
            record,
            replaces: old.filter(|_| data.is_invalidated()),
        }
    } else if let (Some(id), true) = (old.clone(), data.wants_new_id()) {
        Plan::Regenerate(id, changes())
    } else if let (Some(id), true) = (old.clone(), data.is_modified()) {
        Plan::Apply(id, changes())
    } else if data.needs_refresh() || store_creation || data.last_seen_due() || data.needs_reseal()
    {
        let mut changes = Changes::default();
        if store_creation {
            changes.set.extend(created());
        }
        if data.last_seen_due() {
            changes
                .set
                .extend(meta().filter(|(key, _)| key == METADATA_KEY));
        }
        changes.set.extend(seal());
        Plan::Refresh(old?, changes)
    } else {
        Plan::Resign(old?)
    })
}

/// What a save does to the id cookie.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum IdCookieWrite {
    /// Sign the id (a new one, or the same one again) into the cookie.
    Sign,
    /// Leave the browser's cookie as it is.
    Keep,
    /// Expire the cookie.
    Remove,
}

impl IdCookieWrite {
    /// For a save that keeps the id: the same id is signed again only when the cookie must
    /// change: it was signed with a fallback key (`needs_resign`), or its age matters
    /// (`resend`: a max age makes it slide, a rolling refresh counts from the last save).
    /// Otherwise the browser's cookie already says everything, and sending it again would only
    /// cost an HMAC and bytes on the wire.
    pub(super) fn unchanged(resend: bool, needs_resign: bool) -> Self {
        if resend || needs_resign {
            Self::Sign
        } else {
            Self::Keep
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cookie::codec::VerifiedCookie;
    use crate::expiry::ExpiryPolicy;
    use serde_json::json;
    use time::{Duration, OffsetDateTime};

    /// A session loaded from the record `id` holding `values`.
    fn loaded(id: &SessionId, values: Value, signed_with_fallback: bool) -> SessionData {
        let now = OffsetDateTime::now_utc();
        let verified = VerifiedCookie {
            data: values.as_object().cloned().unwrap_or_default(),
            signed_at: now,
            signed_with_fallback,
        };
        SessionData::judged(
            ExpiryPolicy::default(),
            None,
            "s",
            verified,
            now,
            Some(id.clone()),
        )
    }

    fn created(at: i64, stored: bool) -> Option<Creation> {
        Some(Creation { at, stored })
    }

    #[test]
    fn an_untouched_session_needs_no_save() {
        let id = SessionId::generate().unwrap();
        assert_eq!(plan(&loaded(&id, json!({"a": 1}), false), None), None);
        assert_eq!(plan(&SessionData::new_empty(), None), None);
    }

    #[test]
    fn a_new_session_is_created_with_its_creation_time() {
        let mut data = SessionData::new_empty();
        data.insert("a", json!(1));
        let expected = json!({"a": 1, "_created": 5}).as_object().cloned().unwrap();
        assert_eq!(
            plan(&data, created(5, false)),
            Some(Plan::Create {
                record: expected,
                replaces: None
            })
        );
    }

    #[test]
    fn a_change_is_applied_and_stores_an_inferred_creation_time() {
        let id = SessionId::generate().unwrap();
        let mut data = loaded(&id, json!({"a": 1}), false);
        data.insert("b", json!(2));
        let Some(Plan::Apply(at, changes)) = plan(&data, created(5, true)) else {
            panic!("an apply");
        };
        assert_eq!(
            (at, changes.set),
            (id.clone(), vec![("b".into(), json!(2))])
        );
        let Some(Plan::Apply(_, changes)) = plan(&data, created(5, false)) else {
            panic!("an apply");
        };
        assert!(changes.set.contains(&(CREATED_KEY.to_owned(), json!(5))));
    }

    #[test]
    fn a_new_id_moves_the_record_and_a_logout_removes_it() {
        let id = SessionId::generate().unwrap();
        let mut data = loaded(&id, json!({"a": 1}), false);
        data.regenerate_id();
        assert!(matches!(plan(&data, None), Some(Plan::Regenerate(at, _)) if at == id));

        let mut data = loaded(&id, json!({"a": 1}), false);
        data.invalidate();
        assert_eq!(plan(&data, None), Some(Plan::Remove(Some(id.clone()))));
        data.insert("flash", json!("bye"));
        assert!(matches!(
            plan(&data, None),
            Some(Plan::Create { replaces: Some(old), .. }) if old == id
        ));
    }

    #[test]
    fn a_fallback_key_re_signs_without_writing() {
        let id = SessionId::generate().unwrap();
        let data = loaded(&id, json!({"a": 1}), true);
        assert_eq!(plan(&data, None), Some(Plan::Resign(id.clone())));
        // ... unless the record must first store the creation time the old cookie stood for.
        assert!(matches!(plan(&data, created(5, false)), Some(Plan::Refresh(at, _)) if at == id));
    }

    #[test]
    fn the_id_cookie_is_sent_again_only_when_it_must_change() {
        assert_eq!(IdCookieWrite::unchanged(false, false), IdCookieWrite::Keep);
        assert_eq!(IdCookieWrite::unchanged(true, false), IdCookieWrite::Sign);
        assert_eq!(IdCookieWrite::unchanged(false, true), IdCookieWrite::Sign);
    }

    #[test]
    fn a_visitors_flashes_stay_in_the_cookie_until_they_are_too_many() {
        let mut data = SessionData::new_empty();
        data.add_flash(json!("saved"), None, 32);
        assert!(matches!(plan(&data, None), Some(Plan::HeldInCookie(_))));
        for _ in 0..30 {
            data.add_flash(json!("x".repeat(100)), None, 32);
        }
        assert!(
            matches!(plan(&data, None), Some(Plan::Create { .. })),
            "past the cookie's size, a record"
        );
        let mut data = SessionData::new_empty();
        data.add_flash(json!("saved"), None, 32);
        data.insert("cart", json!([1]));
        assert!(
            matches!(plan(&data, None), Some(Plan::Create { .. })),
            "any value: a record"
        );
    }

    #[test]
    fn metadata_rides_on_saves_and_writes_alone_only_when_due() {
        use crate::metadata::Client;
        let now = OffsetDateTime::now_utc();
        let client = Client {
            user_agent: Some("Firefox".into()),
            address: None,
        };
        // A new session keeps it for its first save, and writes nothing for it.
        let mut data = SessionData::new_empty();
        data.observe(|| client.clone(), Duration::minutes(5), now);
        assert_eq!(plan(&data, None), None);
        data.insert("a", json!(1));
        let Some(Plan::Create { record, .. }) = plan(&data, None) else {
            panic!("a create");
        };
        assert_eq!(record[METADATA_KEY]["agent"], "Firefox");

        // A loaded session seen within the interval writes nothing; one seen before, only it.
        let id = SessionId::generate().unwrap();
        let seen = json!({"a": 1, "_meta": {"created": 1, "seen": now.unix_timestamp() - 60}});
        let mut data = loaded(&id, seen.clone(), false);
        data.observe(|| unreachable!("not due"), Duration::minutes(5), now);
        assert_eq!(plan(&data, None), None);
        let mut data = loaded(&id, seen, false);
        data.observe(|| client.clone(), Duration::minutes(1), now);
        let Some(Plan::Refresh(at, changes)) = plan(&data, None) else {
            panic!("a refresh");
        };
        assert_eq!(at, id);
        assert_eq!(changes.set.len(), 1);
        assert_eq!(changes.set[0].0, METADATA_KEY);
        assert_eq!(changes.set[0].1["created"], 1, "the creation time stays");
        assert_eq!(changes.set[0].1["seen"], now.unix_timestamp());

        // After a logout, the new session on the same device is created now.
        data.invalidate();
        data.restart_device(crate::metadata::StoredMetadata::new(&client, now));
        data.insert("flash", json!("bye"));
        let Some(Plan::Create { record, .. }) = plan(&data, None) else {
            panic!("a create");
        };
        assert_eq!(record[METADATA_KEY]["created"], now.unix_timestamp());
    }
}
