//! Loading a server-side session: the id cookie first, then the record it names.

use time::OffsetDateTime;

use super::id_cookie;
use super::save::{backend_error, storable};
use crate::backend::erased::DynBackend;
use crate::config::profile::SessionProfile;
use crate::cookie::codec::{SecureCookieSerializer, VerifiedCookie};
use crate::cookie::request::RequestCookies;
use crate::error::SessionError;
use crate::event::RejectionReason;
use crate::legacy_session;
use crate::rejection_log::RejectionLog;
use crate::state::data::SessionData;
use crate::telemetry::Timer;

/// Loads the session of `profile` from the id in its cookie among `cookies`. A missing or
/// rejected cookie, or an id of the wrong shape, gives a new session without asking the backend
/// (or the session of a legacy cookie configured for it); an unknown or expired id gives a new
/// session too.
///
/// # Errors
/// [`SessionError::Backend`] when the backend fails to load the record.
pub(crate) async fn load(
    profile: &SessionProfile,
    backend: &dyn DynBackend,
    ids: &SecureCookieSerializer,
    cookies: &RequestCookies,
    now: OffsetDateTime,
    log: &RejectionLog,
) -> Result<SessionData, SessionError> {
    let name = profile.name();
    let settings = profile.settings();
    // A legacy session stands in only if its record could be written.
    let legacy = || legacy_session::read(profile, cookies, now, |data| storable(profile, data));
    // The age is judged with the session's own lifetime, which only its record says.
    let Some(read) =
        cookies.first_verified(name, |value| id_cookie::read(ids, name, value, None, now))
    else {
        return Ok(legacy().unwrap_or_else(|_| SessionData::new_empty()));
    };
    let cookie = match read {
        Ok(cookie) => cookie,
        Err(reason) => {
            match legacy() {
                Ok(upgraded) => return Ok(upgraded),
                Err(Some(refusal)) => log.rejected(name, &refusal),
                Err(None) => log.rejected(name, &reason),
            }
            return Ok(SessionData::new_rejected(RejectionReason::from(&reason)));
        }
    };
    let Some(id) = cookie.id else {
        if let Some(held) = cookie.held {
            // A visitor shown a form or a message: no record yet, only what the cookie holds.
            return Ok(SessionData::new_held_in_cookie(
                held.csrf_secret,
                held.flashes,
            ));
        }
        log.rejected(name, &"the cookie holds no well-formed id");
        return Ok(SessionData::new_rejected(RejectionReason::Malformed));
    };
    let timer = Timer::start();
    let record = backend.load(&id).await;
    let outcome = match &record {
        Ok(Some(_)) => "found",
        Ok(None) => "absent",
        Err(_) => "error",
    };
    timer.done(profile.backend_label(), "load", outcome);
    let record = record.map_err(|source| backend_error(profile, "load the session", source))?;
    match record {
        // The record's values, judged with the id cookie's timestamp (the last save).
        Some(values) => {
            let mut data = SessionData::judged(
                settings.expiry,
                Some(settings.idle_limit),
                name,
                VerifiedCookie {
                    data: values,
                    signed_at: cookie.signed_at,
                    signed_with_fallback: cookie.signed_with_fallback,
                },
                now,
                Some(id),
            );
            legacy_session::remove_leftover(profile, cookies, &mut data);
            Ok(data)
        }
        None => {
            tracing::debug!(
                session = name,
                "session record unknown or expired; starting a new session"
            );
            Ok(SessionData::new_after_lost_record(id))
        }
    }
}
