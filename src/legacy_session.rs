//! A session read from another framework's cookie (see
//! [`LegacyCookie`](crate::cookie::LegacyCookie)), when the request brought no valid cookie of
//! this crate's own.

use time::OffsetDateTime;

use crate::config::profile::SessionProfile;
use crate::cookie::request::RequestCookies;
use crate::error::SessionError;
use crate::state::data::SessionData;
use crate::telemetry;

/// The session of the first legacy cookie of `profile` among `cookies` that verifies as of
/// `now`, and whose values this crate can store (`fits` says: a session that could not be
/// saved would fail the request; it stays unread instead).
pub(crate) fn read(
    profile: &SessionProfile,
    cookies: &RequestCookies,
    now: OffsetDateTime,
    fits: impl Fn(&SessionData) -> Result<(), SessionError>,
) -> Option<SessionData> {
    let session = profile.name();
    for reader in profile.legacy_readers() {
        let Some(value) = cookies.get(reader.cookie_name()) else {
            continue;
        };
        let format = reader.format();
        let values = match reader.read(value, now) {
            Ok(values) => values,
            Err(refusal) => {
                // Debug only: anyone can send a cookie of any name.
                tracing::debug!(session, format, %refusal, "legacy session cookie refused");
                telemetry::legacy_cookie(format, "refused");
                continue;
            }
        };
        let data = SessionData::new_imported(values, reader.cookie_name());
        if let Err(error) = fits(&data) {
            tracing::warn!(
                session,
                format,
                %error,
                "a legacy session cookie verified, but this crate cannot store what it holds; \
                 starting a new session"
            );
            telemetry::legacy_cookie(format, "unstorable");
            continue;
        }
        tracing::debug!(session, format, "legacy session cookie read: upgrading it");
        telemetry::legacy_cookie(format, "upgraded");
        return Some(data);
    }
    None
}
