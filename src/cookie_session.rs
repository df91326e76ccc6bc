//! Cookie sessions (signed or sealed): read from the request's cookie, and what a save writes
//! back into it.

use serde::Serialize;
use serde_json::{Map, Value};
use time::OffsetDateTime;

use crate::config::profile::SessionProfile;
use crate::cookie::codec::{to_json, CookieCodec};
use crate::cookie::request::RequestCookies;
use crate::error::SessionError;
use crate::event::RejectionReason;
use crate::legacy_session;
use crate::nesting;
use crate::rejection_log::RejectionLog;
use crate::reserved::CREATED_KEY;
use crate::set_cookie::{max_age_of, set_cookie_header, CookieWrite};
use crate::state::data::SessionData;
use crate::state::meta::SessionMeta;

/// The session of `profile` from the request's `cookies`, read with `codec`: an empty new
/// session when there is none, or it is rejected (logged through `log`, without the value or
/// any key), or past its lifetime. Without a valid cookie of its own, a legacy cookie
/// configured for it may stand in.
pub(crate) fn load(
    profile: &SessionProfile,
    codec: &dyn CookieCodec,
    cookies: &RequestCookies,
    now: OffsetDateTime,
    log: &RejectionLog,
) -> SessionData {
    let name = profile.name();
    // A legacy session stands in only if the response can carry it.
    let legacy = || {
        legacy_session::read(profile, cookies, now, |data| {
            match write(profile, codec, data, now)? {
                Some(write) => set_cookie_header(profile, write, now).map(drop),
                None => Ok(()),
            }
        })
    };
    // The age is judged with the session's own lifetime, which only its payload says.
    let Some(decoded) = cookies.first_verified(name, |value| codec.decode(name, value, None, now))
    else {
        return legacy().unwrap_or_else(|_| SessionData::new_empty());
    };
    let settings = profile.settings();
    match decoded {
        Ok(verified) => {
            let idle = Some(settings.idle_limit);
            let mut data = SessionData::judged(settings.expiry, idle, name, verified, now, None);
            legacy_session::remove_leftover(profile, cookies, &mut data);
            data
        }
        Err(reason) => {
            match legacy() {
                Ok(upgraded) => return upgraded,
                Err(Some(refusal)) => log.rejected(name, &refusal),
                Err(None) => log.rejected(name, &reason),
            }
            SessionData::new_rejected(RejectionReason::from(&reason))
        }
    }
}

/// What saving the cookie session `data` (of `profile`, encoded by `codec`) writes to its
/// cookie as of `now`, if it needs saving.
///
/// # Errors
/// [`SessionError::TooDeep`] for a value that could not be read back,
/// [`SessionError::Encode`] when the session cannot be serialized.
pub(crate) fn write<'c>(
    profile: &SessionProfile,
    codec: &'c dyn CookieCodec,
    data: &SessionData,
    now: OffsetDateTime,
) -> Result<Option<CookieWrite<'c>>, SessionError> {
    if !data.needs_save() {
        return Ok(None);
    }
    if data.is_emptied() {
        // An emptied session deletes its cookie; a new one that stayed empty writes nothing.
        let had_a_cookie = !data.is_new() || data.is_invalidated();
        return Ok(had_a_cookie.then_some(CookieWrite::Remove));
    }
    let name = profile.name();
    if let Some(key) = nesting::too_deep(data.values()) {
        return Err(SessionError::TooDeep {
            session: name.to_owned(),
            key: key.to_owned(),
        });
    }
    let now = now.unix_timestamp();
    let creation = profile
        .settings()
        .expiry
        .creation_to_save(data.creation(), now);
    let payload = Payload {
        values: data.values(),
        created_at: creation.map(|creation| creation.at),
        meta: data.meta(),
    };
    let json = to_json(&payload).map_err(|source| SessionError::Encode {
        session: name.to_owned(),
        source: source.into(),
    })?;
    let max_age = max_age_of(data.meta().expiry, now);
    Ok(Some(CookieWrite::Set {
        codec,
        json,
        max_age,
    }))
}

/// A session as its cookie carries it: the values, plus what the crate keeps in it under
/// reserved keys (the creation time when an absolute lifetime is configured, the session's own
/// lifetime, its CSRF secret).
#[derive(Debug)]
struct Payload<'a> {
    values: &'a Map<String, Value>,
    created_at: Option<i64>,
    meta: &'a SessionMeta,
}

impl Serialize for Payload<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(None)?;
        for (key, value) in self.values {
            map.serialize_entry(key, value)?;
        }
        if let Some(created_at) = self.created_at {
            map.serialize_entry(CREATED_KEY, &created_at)?;
        }
        for (key, value) in self.meta.entries() {
            map.serialize_entry(key, &value)?;
        }
        map.end()
    }
}
