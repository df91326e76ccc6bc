//! Server-side sessions: the cookie holds only a signed `{"_sid": id}`; the data lives in a
//! [`SessionBackend`] under that id. Loading reads the cookie then the record; saving creates,
//! changes or deletes the record and says which cookie to write.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use serde_json::Value;

use std::future::Future;

use crate::backend::{BackendError, ChangeLog, Changes, Record, Regenerated, SessionBackend};
use crate::codec::{self, VerifiedCookie};
use crate::config::SessionConfig;
use crate::error::SessionError;
use crate::expiry::{Creation, CREATED_KEY};
use crate::id::SessionId;
use crate::nesting;
use crate::state::{SessionData, SessionState};
use crate::store::{loaded, CookieWrite};

/// The key of the id in the signed cookie payload.
const ID_KEY: &str = "_sid";

/// How many fresh ids to try before giving up on creating a record.
const CREATE_ATTEMPTS: usize = 3;

/// The id cookie's payload, exactly: anything more is refused.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct IdPayload<'a> {
    #[serde(rename = "_sid")]
    sid: &'a str,
}

/// Loads the session `name` from the id in its cookie. A missing or rejected cookie, or an id of
/// the wrong shape, gives a new session without asking the backend; an unknown or expired id
/// gives a new session too.
pub(crate) async fn load(
    config: &SessionConfig,
    name: &str,
    backend_name: &str,
    backend: &dyn SessionBackend,
    cookie: Option<&str>,
    now: OffsetDateTime,
) -> Result<SessionData, SessionError> {
    let Some(cookie) = cookie else {
        return Ok(SessionData::new_empty());
    };
    let verified = config.id_serializer().verify_at(
        name,
        cookie,
        config.max_age_for(name),
        now,
        |json, signed_at, signed_with_fallback| {
            // An id of the wrong shape (or a payload that is no id at all) gives `None`.
            let id = serde_json::from_slice::<IdPayload<'_>>(json)
                .ok()
                .and_then(|payload| SessionId::parse(payload.sid));
            Ok((id, signed_at, signed_with_fallback))
        },
    );
    let (id, signed_at, signed_with_fallback) = match verified {
        Ok(verified) => verified,
        Err(reason) => {
            config.rejection_log().rejected(name, &reason);
            return Ok(SessionData::new_empty());
        }
    };
    let Some(id) = id else {
        config
            .rejection_log()
            .rejected(name, &"the cookie holds no well-formed id");
        return Ok(SessionData::new_empty());
    };
    let record = backend
        .load(&id)
        .await
        .map_err(|source| backend_error(name, backend_name, "load the session", source))?;
    match record {
        Some(values) => {
            // The record's values, judged with the id cookie's timestamp (the last save).
            let verified = VerifiedCookie {
                data: values,
                signed_at,
                signed_with_fallback,
            };
            Ok(loaded(config, name, verified, now, |values, meta| {
                SessionData::loaded_record(id, values, meta)
            }))
        }
        None => {
            tracing::debug!(
                session = name,
                "session record unknown or expired; starting a new session"
            );
            Ok(SessionData::new_empty())
        }
    }
}

/// What saving one server-side session takes, decided under the session's lock and carried out
/// after it is released.
enum Plan {
    /// Sign the same id again (it verified with a fallback key).
    Resign(SessionId),
    /// Restart the record's idle expiry, write `changes` (none, or only the creation time),
    /// and sign the id again: a rolling refresh on a read, or a re-signed cookie whose record
    /// must first store the creation time the cookie's old timestamp stood for.
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
}

/// `creation`: the creation time to keep in the record (absolute lifetimes), if tracked. It is
/// written with every new record, and into the existing one when the record does not hold it
/// yet (it was inferred from the id cookie's timestamp, which this save may move).
fn plan(data: &SessionData, creation: Option<Creation>) -> Option<Plan> {
    if !data.needs_save() {
        return None;
    }
    let old = data.id.clone();
    let created = || creation.map(|c| (CREATED_KEY.to_owned(), Value::from(c.at)));
    let store_creation = creation.is_some_and(|c| !c.stored);
    // What the request did to the record it loaded.
    let changes = || {
        let mut changes = data.changes.to_changes(&data.values);
        if changes.cleared || store_creation {
            // Clearing the session's keys must not clear when it was created.
            changes.set.extend(created());
        }
        changes
    };
    Some(if data.invalidated && data.values.is_empty() {
        Plan::Remove(old)
    } else if data.invalidated || old.is_none() {
        let mut record = data.values.clone();
        record.extend(created());
        Plan::Create {
            record,
            replaces: old.filter(|_| data.invalidated),
        }
    } else if let (Some(id), true) = (old.clone(), data.regenerate) {
        Plan::Regenerate(id, changes())
    } else if let (Some(id), true) = (old, data.modified) {
        Plan::Apply(id, changes())
    } else if data.needs_refresh || store_creation {
        let mut changes = Changes::default();
        if store_creation {
            changes.set.extend(created());
        }
        Plan::Refresh(data.id.clone()?, changes)
    } else {
        Plan::Resign(data.id.clone()?)
    })
}

/// What a save does to the id cookie.
enum IdCookie {
    /// Sign the id (a new one, or the same one again) into the cookie.
    Sign,
    /// Leave the browser's cookie as it is.
    Keep,
    /// Expire the cookie.
    Remove,
}

impl IdCookie {
    /// For a save that keeps the id: the same id is signed again only when the cookie must
    /// change: it was signed with a fallback key, a max age makes the session slide, or a
    /// rolling refresh counts from the last save. Otherwise the browser's cookie already says
    /// everything, and sending it again would only cost an HMAC and bytes on the wire.
    fn unchanged(config: &SessionConfig, name: &str, needs_resign: bool) -> Self {
        if needs_resign || config.max_age_for(name).is_some() || config.rolling_refresh().is_some()
        {
            Self::Sign
        } else {
            Self::Keep
        }
    }
}

/// Saves one server-side session: the backend I/O, then the state marked saved. Returns the
/// cookie to write, if any.
pub(crate) async fn save<'c>(
    config: &'c SessionConfig,
    state: &SessionState,
    backend_name: &str,
    backend: &dyn SessionBackend,
    now: OffsetDateTime,
) -> Result<Option<CookieWrite<'c>>, SessionError> {
    let now_ts = now.unix_timestamp();
    let policy = config.expiry_policy();
    let (plan, creation, needs_resign) = {
        let data = state.lock();
        let creation = policy.creation_to_save(data.creation, now_ts);
        (plan(&data, creation), creation, data.needs_resign)
    };
    let Some(plan) = plan else {
        return Ok(None);
    };
    let name = state.name();
    let written = match &plan {
        Plan::Create { record, .. } => nesting::too_deep(record),
        Plan::Apply(_, changes) | Plan::Regenerate(_, changes) => {
            nesting::too_deep(changes.set.iter().map(|(key, value)| (key, value)))
        }
        _ => None,
    };
    if let Some(key) = written {
        return Err(SessionError::TooDeep {
            session: name.to_owned(),
            key: key.to_owned(),
        });
    }
    let ttl = policy.record_ttl(config.record_ttl_for(name), creation.map(|c| c.at), now_ts);
    let fail = |action, source| backend_error(name, backend_name, action, source);
    let (id, id_cookie) = match plan {
        Plan::Resign(id) => (Some(id), IdCookie::Sign),
        Plan::Refresh(id, changes) => {
            let refreshed = backend
                .apply(&id, &changes, ttl)
                .await
                .map_err(|e| fail("refresh the session", e))?;
            // A record deleted meanwhile (a logout elsewhere) is not brought back.
            let cookie = if refreshed {
                IdCookie::Sign
            } else {
                IdCookie::Remove
            };
            (Some(id), cookie)
        }
        Plan::Apply(id, changes) => {
            let applied = backend
                .apply(&id, &changes, ttl)
                .await
                .map_err(|e| fail("save the session", e))?;
            if !applied {
                return Err(SessionError::SessionGone {
                    session: name.to_owned(),
                });
            }
            // The id is unchanged: its cookie is sent again only when its age matters.
            (Some(id), IdCookie::unchanged(config, name, needs_resign))
        }
        Plan::Regenerate(old, changes) => {
            let (old, changes, fail) = (&old, &changes, &fail);
            let id = under_fresh_id(name, |new| async move {
                let moved = backend
                    .regenerate(old, &new, changes, ttl)
                    .await
                    .map_err(|e| fail("move the session to a new id", e))?;
                match moved {
                    Regenerated::Moved => Ok(true),
                    Regenerated::Taken => Ok(false),
                    // A logout (or the expiry) got there first: it is not undone.
                    Regenerated::Gone => Err(SessionError::SessionGone {
                        session: name.to_owned(),
                    }),
                }
            })
            .await?;
            (Some(id), IdCookie::Sign)
        }
        Plan::Create { record, replaces } => {
            if let Some(old) = replaces {
                backend
                    .delete(&old)
                    .await
                    .map_err(|e| fail("delete the replaced record", e))?;
            }
            let (record, fail) = (&record, &fail);
            let id = under_fresh_id(name, |id| async move {
                backend
                    .create(&id, record, ttl)
                    .await
                    .map_err(|e| fail("create the session", e))
            })
            .await?;
            (Some(id), IdCookie::Sign)
        }
        Plan::Remove(old) => {
            if let Some(old) = old {
                backend
                    .delete(&old)
                    .await
                    .map_err(|e| fail("delete the session", e))?;
            }
            (None, IdCookie::Remove)
        }
    };
    let cookie = match (&id, id_cookie) {
        (_, IdCookie::Keep) => None,
        (Some(id), IdCookie::Sign) => {
            let json = codec::to_json(&IdPayload { sid: id.as_str() }).map_err(|source| {
                SessionError::Serialize {
                    session: name.to_owned(),
                    key: ID_KEY.to_owned(),
                    source,
                }
            })?;
            Some(CookieWrite::Set {
                codec: config.id_serializer(),
                json,
            })
        }
        _ => Some(CookieWrite::Remove),
    };
    let mut data = state.lock();
    data.id = id;
    data.invalidated = false;
    data.creation = creation;
    data.mark_saved();
    // The session has a record now: later changes are sent as changes.
    data.changes = ChangeLog::tracking();
    Ok(cookie)
}

/// Runs `attempt` with fresh ids until it stores the record under one (`Ok(true)`), retrying
/// when an id is taken (`Ok(false)`); returns that id.
async fn under_fresh_id<F, Fut>(name: &str, mut attempt: F) -> Result<SessionId, SessionError>
where
    F: FnMut(SessionId) -> Fut,
    Fut: Future<Output = Result<bool, SessionError>>,
{
    for _ in 0..CREATE_ATTEMPTS {
        let id = SessionId::generate().map_err(|error| SessionError::NoFreshId {
            session: name.to_owned(),
            reason: format!("the OS random generator failed: {error}"),
        })?;
        if attempt(id.clone()).await? {
            return Ok(id);
        }
        tracing::warn!(
            session = name,
            "a fresh session id was already taken; trying another"
        );
    }
    Err(SessionError::NoFreshId {
        session: name.to_owned(),
        reason: format!("{CREATE_ATTEMPTS} fresh ids were all taken"),
    })
}

fn backend_error(
    session: &str,
    backend: &str,
    action: &'static str,
    source: BackendError,
) -> SessionError {
    SessionError::Backend {
        session: session.to_owned(),
        backend: backend.to_owned(),
        action,
        source,
    }
}
