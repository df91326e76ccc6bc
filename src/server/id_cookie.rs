//! The id cookie of a server-side session: exactly `{"_sid": id}`, signed under the id
//! cookies' own key; or, for a session that has no record yet, exactly `{"_csrf": secret}`, so
//! that rendering a form to an anonymous visitor writes nothing on the server.

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

use crate::codec::{to_json, SecureCookieSerializer, VerifyError};
use crate::csrf_token;
use crate::id::SessionId;

/// The id cookie's payload, exactly: anything more is refused.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct IdPayload<'a> {
    #[serde(rename = "_sid")]
    sid: &'a str,
}

/// The payload of an anonymous session's cookie: only its CSRF secret.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct CsrfPayload<'a> {
    #[serde(rename = "_csrf")]
    csrf: &'a str,
}

/// What a verified id cookie says.
pub(super) struct IdCookie {
    /// The id, or `None` when the payload holds no well-formed one.
    pub(super) id: Option<SessionId>,
    /// The CSRF secret of a session without a record (and so without `id`).
    pub(super) csrf_secret: Option<String>,
    /// When it was signed: the session's last save.
    pub(super) signed_at: OffsetDateTime,
    /// A fallback key verified it.
    pub(super) signed_with_fallback: bool,
}

/// Verifies the id cookie `value` of the session `name` with `ids`, refusing one signed longer
/// ago than `max_age`.
pub(super) fn read(
    ids: &SecureCookieSerializer,
    name: &str,
    value: &str,
    max_age: Option<Duration>,
    now: OffsetDateTime,
) -> Result<IdCookie, VerifyError> {
    ids.verify_at(
        name,
        value,
        max_age,
        now,
        |json, signed_at, signed_with_fallback| {
            // An id of the wrong shape (or a payload that is no id at all) gives `None`.
            let id = serde_json::from_slice::<IdPayload<'_>>(json)
                .ok()
                .and_then(|payload| SessionId::parse(payload.sid));
            let csrf_secret = serde_json::from_slice::<CsrfPayload<'_>>(json)
                .ok()
                .filter(|payload| csrf_token::is_secret(payload.csrf))
                .map(|payload| payload.csrf.to_owned());
            Ok(IdCookie {
                id,
                csrf_secret,
                signed_at,
                signed_with_fallback,
            })
        },
    )
}

/// The JSON an id cookie signs for `id`.
pub(super) fn payload(id: &SessionId) -> Result<Vec<u8>, serde_json::Error> {
    to_json(&IdPayload { sid: id.as_str() })
}

/// The payload of the cookie of a session that has no record, only the CSRF secret `secret`.
pub(super) fn csrf_payload(secret: &str) -> Result<Vec<u8>, serde_json::Error> {
    to_json(&CsrfPayload { csrf: secret })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::{KeyRing, ID_COOKIE_PURPOSE};
    use serde_json::json;

    #[test]
    fn only_exactly_an_id_is_an_id() {
        let ids = SecureCookieSerializer::new(KeyRing::new(&[9; 32], &[], ID_COOKIE_PURPOSE));
        let now = OffsetDateTime::now_utc();
        let id = SessionId::generate().unwrap();
        let exact = ids.sign_json("s", &payload(&id).unwrap(), now.unix_timestamp());
        assert_eq!(
            read(&ids, "s", &exact, None, now).unwrap().id,
            Some(id.clone())
        );
        for other in [
            json!({"_sid": id.as_str(), "more": 1}),
            json!({"_sid": 7}),
            json!({"_sid": "short"}),
        ] {
            let value = ids.serialize_at("s", &other, now).unwrap();
            assert_eq!(
                read(&ids, "s", &value, None, now).unwrap().id,
                None,
                "{other}"
            );
        }
    }
}
