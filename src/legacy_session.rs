//! A session read from another framework's cookie (see
//! [`LegacyCookie`](crate::cookie::LegacyCookie)), when the request brought no valid cookie of
//! this crate's own.

use time::OffsetDateTime;

use crate::config::profile::SessionProfile;
use crate::cookie::legacy::Refusal;
use crate::cookie::request::RequestCookies;
use crate::error::SessionError;
use crate::state::data::SessionData;
use crate::telemetry;

/// The session of the first legacy cookie of `profile` among `cookies` that verifies as of
/// `now`, and whose values this crate can store (`fits` says: a session that could not be
/// saved would fail the request; it stays unread instead).
///
/// # Errors
/// When none is read: why an old cookie under the session's own name was refused, if one was
/// (the reason to log for that cookie, rather than why it is not one of this crate's).
pub(crate) fn read(
    profile: &SessionProfile,
    cookies: &RequestCookies,
    now: OffsetDateTime,
    fits: impl Fn(&SessionData) -> Result<(), SessionError>,
) -> Result<SessionData, Option<Refusal>> {
    let session = profile.name();
    let mut own_name_refusal = None;
    for reader in profile.legacy_readers() {
        // Every value: an old cookie for another path may sit beside one of the same name.
        for value in cookies.get_all(reader.cookie_name()) {
            let format = reader.format();
            let values = match reader.read(value, now) {
                Ok(values) => values,
                Err(refusal) => {
                    // Debug only: anyone can send a cookie of any name.
                    tracing::debug!(session, format, %refusal, "legacy session cookie refused");
                    telemetry::legacy_cookie(format, "refused");
                    if reader.cookie_name() == session && own_name_refusal.is_none() {
                        own_name_refusal = Some(refusal);
                    }
                    continue;
                }
            };
            let data = SessionData::new_imported(values, reader.cookie_name());
            if let Err(error) = fits(&data) {
                tracing::warn!(
                    session,
                    format,
                    %error,
                    "a legacy session cookie verified, but this crate cannot store what it \
                     holds; starting a new session"
                );
                telemetry::legacy_cookie(format, "unstorable");
                continue;
            }
            tracing::debug!(session, format, "legacy session cookie read: upgrading it");
            telemetry::legacy_cookie(format, "upgraded");
            return Ok(data);
        }
    }
    Err(own_name_refusal)
}

/// Marks `data`, loaded from this crate's own cookie, to remove an old cookie that the request
/// still carries beside it (its deletion missed, or the browser sent both): left there, it would
/// be read again once this crate's cookie is gone, after a logout say.
pub(crate) fn remove_leftover(
    profile: &SessionProfile,
    cookies: &RequestCookies,
    data: &mut SessionData,
) {
    if data.is_new() {
        return;
    }
    let own = profile.name();
    let leftover = profile.legacy_readers().iter().find(|reader| {
        let name = reader.cookie_name();
        // Under the session's own name, the one value that was this crate's is not left over.
        let others = cookies.get_all(name).count() - usize::from(name == own);
        !is_overwritten(profile, name) && others > 0
    });
    if let Some(reader) = leftover {
        data.remove_legacy_cookie(reader.cookie_name());
    }
}

/// Whether writing the session's own cookie takes the place of the old cookie `name` in the
/// browser (same name, path and domain), so that no removal of it is needed.
pub(crate) fn is_overwritten(profile: &SessionProfile, name: &str) -> bool {
    profile
        .legacy_readers()
        .iter()
        .find(|reader| reader.cookie_name() == name)
        .is_some_and(|reader| {
            reader.is_overwritten_by(profile.name(), profile.settings().attributes.args())
        })
}
