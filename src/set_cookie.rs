//! Where the `Set-Cookie` header is built: [`CookieWrite`], what a save writes to a session's
//! cookie, and the header that carries it, refused when browsers would drop it.

use axum::http::HeaderValue;
use time::OffsetDateTime;

use crate::config::profile::SessionProfile;
use crate::cookie::args::MaxAge;
use crate::cookie::codec::{CookieCodec, MAX_COOKIE_VALUE_LEN};
use crate::error::SessionError;
use crate::expiry::Expiry;

/// What saving a session writes to its cookie.
pub(crate) enum CookieWrite<'c> {
    /// Store `json`, encoded by `codec`, straight into the `Set-Cookie` header, with
    /// `max_age`.
    Set {
        codec: &'c dyn CookieCodec,
        json: Vec<u8>,
        max_age: MaxAge,
    },
    /// Tell the browser to delete the cookie.
    Remove,
}

/// The `Set-Cookie` header that carries `write` for the session of `profile`, signed or sealed
/// as of `now`, with the session's cookie attributes.
///
/// # Errors
/// [`SessionError::CookieTooLarge`] for a header over 4096 bytes (its length is exact, so
/// nothing is encoded then), [`SessionError::Encode`] when the codec fails.
pub(crate) fn set_cookie_header(
    profile: &SessionProfile,
    write: CookieWrite<'_>,
    now: OffsetDateTime,
) -> Result<HeaderValue, SessionError> {
    let name = profile.name();
    let attributes = &profile.settings().attributes;
    let too_large = |size| SessionError::CookieTooLarge {
        session: name.to_owned(),
        size,
    };
    let header = match write {
        CookieWrite::Set {
            codec,
            json,
            max_age,
        } => {
            let value_len = codec.value_len(json.len(), now);
            let size = attributes.set_cookie_len(name, value_len, max_age);
            if size > MAX_COOKIE_VALUE_LEN {
                return Err(too_large(size));
            }
            let mut header = attributes.start_set_cookie(name, value_len, max_age);
            codec
                .write_value(name, &json, now, &mut header)
                .map_err(|source| SessionError::Encode {
                    session: name.to_owned(),
                    source,
                })?;
            attributes.finish_set_cookie(&mut header, max_age);
            header
        }
        CookieWrite::Remove => {
            let header = attributes.removal_cookie(name);
            if header.len() > MAX_COOKIE_VALUE_LEN {
                return Err(too_large(header.len()));
            }
            header
        }
    };
    HeaderValue::try_from(header).map_err(|_| SessionError::InvalidHeader {
        session: name.to_owned(),
    })
}

/// The `Set-Cookie` header that deletes the cookie `name` (another framework's, which the
/// session of `profile` was read from), with the `Path` and `Domain` it was set with (the
/// session's own unless its `LegacyCookie` says otherwise).
///
/// # Errors
/// [`SessionError::InvalidHeader`] never, in practice: the name was checked at `build()`.
pub(crate) fn removal_header(
    profile: &SessionProfile,
    name: &str,
) -> Result<HeaderValue, SessionError> {
    let attributes = &profile.settings().attributes;
    let header = match profile
        .legacy_readers()
        .iter()
        .find(|reader| reader.cookie_name() == name)
    {
        Some(reader) => reader.removal_cookie(attributes),
        None => attributes.removal_cookie(name),
    };
    HeaderValue::try_from(header).map_err(|_| SessionError::InvalidHeader {
        session: profile.name().to_owned(),
    })
}

/// The `Max-Age` of the cookie of a session with `expiry`, saved at `now` (Unix seconds): the
/// configured one unless the session chose a lifetime of its own.
pub(crate) fn max_age_of(expiry: Option<Expiry>, now: i64) -> MaxAge {
    match expiry {
        None => MaxAge::Configured,
        Some(Expiry::OnBrowserClose) => MaxAge::BrowserSession,
        Some(Expiry::OnInactivity(idle)) => MaxAge::Seconds(idle.whole_seconds()),
        Some(Expiry::AtDateTime(at)) => MaxAge::Seconds(at.unix_timestamp().saturating_sub(now)),
    }
}
