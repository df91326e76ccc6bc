//! Saving a server-side session: carrying its [`Plan`] out against the backend, retrying
//! fresh ids that are taken, and saying which id cookie to write.

use std::future::Future;

use time::OffsetDateTime;

use super::id_cookie;
use super::plan::{plan, IdCookieWrite, Plan};
use crate::backend::erased::DynBackend;
use crate::backend::{BackendError, Regenerated};
use crate::config::profile::SessionProfile;
use crate::cookie::codec::SecureCookieSerializer;
use crate::error::SessionError;
use crate::event::EventKind;
use crate::event_sink::Emitter;
use crate::expiry::{record_ttl_of, Expiry};
use crate::id::SessionId;
use crate::json_size;
use crate::nesting;
use crate::set_cookie::{max_age_of, CookieWrite};
use crate::state::data::SessionData;
use crate::state::shared::SessionState;
#[cfg(feature = "metrics")]
use crate::telemetry::Timer;

/// How many fresh ids to try before giving up on creating a record.
const CREATE_ATTEMPTS: usize = 3;

/// The key of the id in the signed cookie payload, for errors.
const ID_KEY: &str = "_sid";

/// Saves the server-side session `state` into `backend` as of `now`: plans under its lock, does
/// the backend I/O after, and records in the state what the record now is. Returns the id
/// cookie to write, signed by `ids`, if any. (Marking the session saved is the caller's, once
/// the whole response's save went through.)
///
/// # Errors
/// [`SessionError::TooDeep`], [`SessionError::Backend`], [`SessionError::SessionGone`] (the
/// record was deleted or expired meanwhile: it is not brought back), or
/// [`SessionError::NoFreshId`].
pub(crate) async fn save<'s>(
    state: &SessionState,
    backend: &dyn DynBackend,
    ids: &'s SecureCookieSerializer,
    now: OffsetDateTime,
    emitter: Emitter<'_>,
) -> Result<Option<CookieWrite<'s>>, SessionError> {
    let profile = state.profile();
    let settings = profile.settings();
    let now_ts = now.unix_timestamp();
    let (plan, size, creation, needs_resign, needs_refresh, expiry, meta_changed, user_set) = {
        let data = state.lock();
        if data.is_conflicted() {
            emitter.emit(EventKind::Conflict, data.id());
            return Err(SessionError::SessionGone {
                session: profile.name().to_owned(),
            });
        }
        let creation = settings.expiry.creation_to_save(data.creation(), now_ts);
        let plan = plan(&data, creation);
        // What the record will weigh, for the plans that write its values.
        let size = matches!(
            plan,
            Some(Plan::Create { .. } | Plan::Apply(..) | Plan::Regenerate(..))
        )
        .then(|| record_len(&data));
        (
            plan,
            size,
            creation,
            data.needs_resign(),
            data.needs_refresh(),
            data.meta().expiry,
            data.meta_changed(),
            data.user_was_set(),
        )
    };
    // Tied to a user in this request: said once the record holding the user is written.
    let user_set = |id: &SessionId| {
        if user_set {
            emitter.emit(EventKind::UserSet, Some(id));
        }
    };
    let Some(plan) = plan else {
        return Ok(None);
    };
    let name = profile.name();
    let limit = settings.limits.max_record_bytes;
    if let Some(size) = size.filter(|&size| size > limit) {
        return Err(SessionError::RecordTooLarge {
            session: name.to_owned(),
            size,
            limit,
        });
    }
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
    let ttl = settings.expiry.record_ttl(
        record_ttl_of(expiry, settings.record_ttl, now_ts),
        creation.map(|c| c.at),
        now_ts,
    );
    // The cookie must change when its age matters (a sliding max age, configured or the
    // session's own, or a rolling refresh), or the session chose another lifetime.
    // A refresh is due too: the cookie's timestamp is what the server's idle check reads, so
    // a session changed on every request must still get it signed again in time.
    let resend = settings.resend_unchanged_id
        || matches!(expiry, Some(Expiry::OnInactivity(_)))
        || meta_changed
        || needs_refresh;
    let fail = |action, source| backend_error(profile, action, source);
    // The id cookie carrying `json`, signed by `ids`.
    let signed = |json| CookieWrite::Set {
        codec: ids,
        json,
        max_age: max_age_of(expiry, now_ts),
    };
    let serialize = |source| SessionError::Serialize {
        session: name.to_owned(),
        key: ID_KEY.to_owned(),
        source,
    };
    let (id, id_cookie) = match plan {
        Plan::Resign(id) => (Some(id), IdCookieWrite::Sign),
        Plan::Refresh(id, changes) => {
            let refreshed = timed(
                profile,
                "refresh",
                backend.apply(&id, &changes, ttl),
                |done| {
                    if *done {
                        "ok"
                    } else {
                        "gone"
                    }
                },
            )
            .await
            .map_err(|e| fail("refresh the session", e))?;
            // A record deleted meanwhile (a logout elsewhere) is not brought back.
            let cookie = if refreshed {
                IdCookieWrite::Sign
            } else {
                IdCookieWrite::Remove
            };
            (Some(id), cookie)
        }
        Plan::Apply(id, changes) => {
            let applied = timed(
                profile,
                "apply",
                backend.apply(&id, &changes, ttl),
                |done| {
                    if *done {
                        "ok"
                    } else {
                        "conflict"
                    }
                },
            )
            .await
            .map_err(|e| fail("save the session", e))?;
            if !applied {
                emitter.emit(EventKind::Conflict, Some(&id));
                return Err(SessionError::SessionGone {
                    session: name.to_owned(),
                });
            }
            user_set(&id);
            // The id is unchanged: its cookie is sent again only when it must change.
            let cookie = IdCookieWrite::unchanged(resend, needs_resign);
            (Some(id), cookie)
        }
        Plan::Regenerate(old, changes) => {
            let (old, changes, fail) = (&old, &changes, &fail);
            let id = under_fresh_id(name, |new| async move {
                let moved = backend.regenerate(old, &new, changes, ttl);
                let moved = timed(profile, "regenerate", moved, |moved| match moved {
                    Regenerated::Moved => "ok",
                    Regenerated::Taken => "taken",
                    Regenerated::Gone => "conflict",
                })
                .await
                .map_err(|e| fail("move the session to a new id", e))?;
                match moved {
                    Regenerated::Moved => Ok(true),
                    Regenerated::Taken => Ok(false),
                    // A logout (or the expiry) got there first: it is not undone.
                    Regenerated::Gone => {
                        emitter.emit(EventKind::Conflict, Some(old));
                        Err(SessionError::SessionGone {
                            session: name.to_owned(),
                        })
                    }
                }
            })
            .await?;
            emitter.emit_with(
                |handles| EventKind::Regenerated {
                    previous: handles.handle(old),
                },
                Some(&id),
            );
            user_set(&id);
            (Some(id), IdCookieWrite::Sign)
        }
        Plan::Create { record, replaces } => {
            if let Some(old) = replaces {
                timed(profile, "delete", backend.delete(&old), |()| "ok")
                    .await
                    .map_err(|e| fail("delete the replaced record", e))?;
                emitter.emit(EventKind::Invalidated, Some(&old));
            }
            let (record, fail) = (&record, &fail);
            let id = under_fresh_id(name, |id| async move {
                let created = backend.create(&id, record, ttl);
                timed(profile, "create", created, |created| {
                    if *created {
                        "ok"
                    } else {
                        "taken"
                    }
                })
                .await
                .map_err(|e| fail("create the session", e))
            })
            .await?;
            emitter.emit(EventKind::Created, Some(&id));
            user_set(&id);
            (Some(id), IdCookieWrite::Sign)
        }
        Plan::Remove(old) => {
            if let Some(old) = old {
                timed(profile, "delete", backend.delete(&old), |()| "ok")
                    .await
                    .map_err(|e| fail("delete the session", e))?;
                emitter.emit(EventKind::Invalidated, Some(&old));
            }
            (None, IdCookieWrite::Remove)
        }
        Plan::HeldInCookie(json) => {
            state.lock().saved_to_record(None, creation);
            return Ok(Some(signed(json)));
        }
    };
    let cookie = match (&id, id_cookie) {
        (_, IdCookieWrite::Keep) => None,
        (Some(id), IdCookieWrite::Sign) => Some(signed(id_cookie::payload(id).map_err(serialize)?)),
        _ => Some(CookieWrite::Remove),
    };
    state.lock().saved_to_record(id, creation);
    Ok(cookie)
}

/// The size of the record `data` stands for, as JSON: its values and what the crate keeps in
/// it beside them.
/// `call`, the backend operation `operation` of `profile`'s backend, timed, with the outcome
/// `judge` names (or `error`) counted.
#[cfg(feature = "metrics")]
async fn timed<T>(
    profile: &SessionProfile,
    operation: &'static str,
    call: impl Future<Output = Result<T, BackendError>>,
    judge: impl FnOnce(&T) -> &'static str,
) -> Result<T, BackendError> {
    let timer = Timer::start();
    let result = call.await;
    let outcome = result.as_ref().map_or("error", judge);
    timer.done(profile.backend_label(), operation, outcome);
    result
}

/// Without metrics, `call` itself: nothing wraps it.
#[cfg(not(feature = "metrics"))]
fn timed<T, F>(
    _: &SessionProfile,
    _: &'static str,
    call: F,
    _: impl FnOnce(&T) -> &'static str,
) -> F
where
    F: Future<Output = Result<T, BackendError>>,
{
    call
}

/// Whether a save could write the record of `data` (of `profile`): within the size limit, and
/// readable back.
///
/// # Errors
/// [`SessionError::RecordTooLarge`] or [`SessionError::TooDeep`], as the save would fail.
pub(super) fn storable(profile: &SessionProfile, data: &SessionData) -> Result<(), SessionError> {
    let name = profile.name();
    let limit = profile.settings().limits.max_record_bytes;
    let size = record_len(data);
    if size > limit {
        return Err(SessionError::RecordTooLarge {
            session: name.to_owned(),
            size,
            limit,
        });
    }
    if let Some(key) = nesting::too_deep(data.values()) {
        return Err(SessionError::TooDeep {
            session: name.to_owned(),
            key: key.to_owned(),
        });
    }
    Ok(())
}

fn record_len(data: &SessionData) -> usize {
    let values = data
        .values()
        .iter()
        .map(|(key, value)| (key.as_str(), value));
    let meta: usize = data
        .meta()
        .entries()
        .map(|(key, value)| 1 + json_size::entry_len(key, &value))
        .sum();
    json_size::object_len(values) + meta
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

/// The error of the session of `profile` when its backend failed to do `action`.
pub(super) fn backend_error(
    profile: &SessionProfile,
    action: &'static str,
    source: BackendError,
) -> SessionError {
    SessionError::Backend {
        session: profile.name().to_owned(),
        backend: profile.backend_name().to_owned(),
        action,
        source,
    }
}
