//! The id cookie of a server-side session: exactly `{"_sid": id}`, signed under the id
//! cookies' own key; or, for a session that has no record yet, what it holds for a visitor:
//! `{"_csrf": secret, "_flash": [...]}` (either or both), so that rendering a form to an
//! anonymous visitor, or flashing a message to one, writes nothing on the server.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::{Duration, OffsetDateTime};

use crate::cookie::codec::{to_json, SecureCookieSerializer, VerifyError};
use crate::csrf_token;
use crate::id::SessionId;

/// The id cookie's payload, exactly: anything more is refused.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct IdPayload<'a> {
    #[serde(rename = "_sid")]
    sid: &'a str,
}

/// The largest payload a session without a record keeps in its cookie, in bytes of JSON: a
/// CSRF secret and a few flash messages fit, and the signed cookie stays well under the 4 KiB
/// browsers keep. More goes into a record.
pub(super) const MAX_HELD_BYTES: usize = 2048;

/// The payload of the cookie of a session without a record: its CSRF secret, its pending flash
/// messages, or both.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct HeldPayload<'a> {
    #[serde(rename = "_csrf", default, skip_serializing_if = "Option::is_none")]
    csrf: Option<Cow<'a, str>>,
    #[serde(rename = "_flash", default, skip_serializing_if = "Option::is_none")]
    flash: Option<Cow<'a, Value>>,
}

/// What the cookie of a session without a record holds.
pub(super) struct Held {
    /// The secret its CSRF tokens come from.
    pub(super) csrf_secret: Option<String>,
    /// Its pending flash messages, as stored under `_flash`.
    pub(super) flashes: Option<Value>,
}

/// What a verified id cookie says.
pub(super) struct IdCookie {
    /// The id, or `None` when the payload holds no well-formed one.
    pub(super) id: Option<SessionId>,
    /// What a session without a record (and so without `id`) holds.
    pub(super) held: Option<Held>,
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
            let held = serde_json::from_slice::<HeldPayload<'_>>(json)
                .ok()
                .and_then(held);
            Ok(IdCookie {
                id,
                held,
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

/// What a held payload says, if it is of the shape this module writes: a well-formed secret,
/// a list of flash messages, at least one of the two.
fn held(payload: HeldPayload<'_>) -> Option<Held> {
    let csrf_secret = match payload.csrf {
        Some(secret) if !csrf_token::is_secret(&secret) => return None,
        secret => secret.map(Cow::into_owned),
    };
    let flashes = match payload.flash {
        Some(flashes) if !flashes.is_array() => return None,
        flashes => flashes.map(Cow::into_owned),
    };
    (csrf_secret.is_some() || flashes.is_some()).then_some(Held {
        csrf_secret,
        flashes,
    })
}

/// The payload of the cookie of a session that has no record and holds the CSRF secret
/// `csrf` and the flash messages `flashes`, or `None` when it would weigh more than
/// [`MAX_HELD_BYTES`].
pub(super) fn held_payload(csrf: Option<&str>, flashes: Option<&Value>) -> Option<Vec<u8>> {
    let payload = HeldPayload {
        csrf: csrf.map(Cow::Borrowed),
        flash: flashes.map(Cow::Borrowed),
    };
    to_json(&payload)
        .ok()
        .filter(|json| json.len() <= MAX_HELD_BYTES)
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

    #[test]
    fn a_held_payload_reads_back_and_nothing_else_is_held() {
        let ids = SecureCookieSerializer::new(KeyRing::new(&[9; 32], &[], ID_COOKIE_PURPOSE));
        let now = OffsetDateTime::now_utc();
        let secret = csrf_token::new_secret().unwrap();
        let flashes = json!([["saved", "info"]]);
        let json = held_payload(Some(&secret), Some(&flashes)).unwrap();
        let value = ids.sign_json("s", &json, now.unix_timestamp());
        let held = read(&ids, "s", &value, None, now).unwrap().held.unwrap();
        assert_eq!(
            (held.csrf_secret.as_deref(), held.flashes),
            (Some(secret.as_str()), Some(flashes.clone()))
        );
        for other in [
            json!({}),
            json!({"_csrf": "not a secret"}),
            json!({"_flash": "not a list"}),
            json!({"_flash": [], "more": 1}),
        ] {
            let value = ids.serialize_at("s", &other, now).unwrap();
            assert!(
                read(&ids, "s", &value, None, now).unwrap().held.is_none(),
                "{other}"
            );
        }
        let many = json!(vec![["x".repeat(100), "info".to_owned()]; 20]);
        assert_eq!(held_payload(None, Some(&many)), None, "too large to hold");
    }
}
