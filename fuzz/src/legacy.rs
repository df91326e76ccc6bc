//! Other frameworks' session cookies (webapp2, Flask, Django) through the app: raw values, and
//! values signed here with the old app's secret, so the fuzzer reaches past the signature into
//! the decoders (base64, zlib, Flask's tagged JSON) and the upgrade (what the response writes).

use std::sync::LazyLock;

use axum::http::HeaderValue;
use axum::Router;
use axum_session_store::cookie::LegacyCookie;
use axum_session_store::{DefaultSession, SessionConfig, SessionConfigBuilder};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use hmac::{Hmac, Mac};
use sha1::Sha1;
use sha2::{Digest, Sha256};

use crate::app::{cookie_app_with, layered_app_with, request, send, Mem};
use crate::{OLD_SECRET, SECRET};

/// The old app's secret.
pub const LEGACY_SECRET: &str = "the old app's secret key";

/// Which framework signs the input.
#[derive(Clone, Copy, Debug)]
pub enum Format {
    Webapp2,
    Flask,
    Django,
}

impl Format {
    /// The cookie the old app set.
    pub fn cookie_name(self) -> &'static str {
        match self {
            Format::Webapp2 | Format::Flask => "session",
            Format::Django => "sessionid",
        }
    }

    fn reader(self) -> LegacyCookie {
        match self {
            Format::Webapp2 => {
                LegacyCookie::webapp2(LEGACY_SECRET).max_age(time::Duration::days(1))
            }
            Format::Flask => LegacyCookie::flask(LEGACY_SECRET),
            Format::Django => LegacyCookie::django(LEGACY_SECRET),
        }
    }

    /// `payload` signed now, as the framework signs a session: compressed first (Flask and
    /// Django) when `compress`.
    pub fn sign(self, payload: &[u8], compress: bool) -> String {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let body = |payload: &[u8]| {
            if compress {
                let zlib = miniz_oxide::deflate::compress_to_vec_zlib(payload, 6);
                format!(".{}", URL_SAFE_NO_PAD.encode(zlib))
            } else {
                URL_SAFE_NO_PAD.encode(payload)
            }
        };
        match self {
            Format::Webapp2 => {
                let value = STANDARD.encode(payload);
                let timestamp = now.to_string();
                let mut mac =
                    Hmac::<Sha1>::new_from_slice(LEGACY_SECRET.as_bytes()).expect("any key");
                mac.update(format!("session|{value}|{timestamp}").as_bytes());
                let hex: String = mac
                    .finalize()
                    .into_bytes()
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect();
                format!("{value}|{timestamp}|{hex}")
            }
            Format::Flask => {
                let mut derive =
                    Hmac::<Sha1>::new_from_slice(LEGACY_SECRET.as_bytes()).expect("any key");
                derive.update(b"cookie-session");
                let key = derive.finalize().into_bytes();
                let bytes = now.to_be_bytes();
                let first = bytes.iter().position(|&b| b != 0).unwrap_or(7);
                let signed = format!(
                    "{}.{}",
                    body(payload),
                    URL_SAFE_NO_PAD.encode(&bytes[first..])
                );
                let mut mac = Hmac::<Sha1>::new_from_slice(&key).expect("any key");
                mac.update(signed.as_bytes());
                format!(
                    "{signed}.{}",
                    URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
                )
            }
            Format::Django => {
                let key = Sha256::new()
                    .chain_update(b"django.contrib.sessions.backends.signed_cookiessigner")
                    .chain_update(LEGACY_SECRET)
                    .finalize();
                let signed = format!("{}:{}", body(payload), base62(now));
                let mut mac = Hmac::<Sha256>::new_from_slice(&key).expect("any key");
                mac.update(signed.as_bytes());
                format!(
                    "{signed}:{}",
                    URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
                )
            }
        }
    }
}

fn base62(mut n: i64) -> String {
    const DIGITS: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut out = Vec::new();
    while n > 0 {
        out.push(DIGITS[(n % 62) as usize]);
        n /= 62;
    }
    out.reverse();
    String::from_utf8(out).expect("ASCII")
}

/// Every format's reader on the default session (and, with the layer, on the server-side one).
fn with_readers(builder: SessionConfigBuilder, server_too: bool) -> SessionConfigBuilder {
    let mut builder = builder;
    for format in [Format::Webapp2, Format::Flask, Format::Django] {
        builder = builder.legacy_cookie::<DefaultSession>(format.reader());
        if server_too {
            builder = builder.legacy_cookie::<Mem>(format.reader());
        }
    }
    builder
}

static COOKIE_APP: LazyLock<Router> = LazyLock::new(|| {
    let builder =
        SessionConfig::builder()
            .secret_key(SECRET)
            .fallback_keys([OLD_SECRET])
            .session_backend::<crate::app::Cart>(
                axum_session_store::backend::Storage::private_cookie(),
            );
    cookie_app_with(
        with_readers(builder, false)
            .build()
            .expect("a valid config"),
    )
});

/// One input for the reader of `format`. The first byte says how to use the rest: bit 0 set,
/// sign it as the session's JSON (bit 1: compressed); else it is the cookie's raw value. Bit 2
/// picks the app with the layer and a server-side session. Never a panic, always a `200`, and
/// every cookie set reads back ([`send`]).
pub fn run(format: Format, data: &[u8]) {
    let Some((&how, rest)) = data.split_first() else {
        return;
    };
    let value = if how & 1 == 1 {
        format.sign(rest, how & 2 == 2).into_bytes()
    } else {
        rest.to_vec()
    };
    let mut pair = format!("{}=", format.cookie_name()).into_bytes();
    pair.extend_from_slice(&value);
    let Ok(cookie) = HeaderValue::from_bytes(&pair) else {
        return;
    };
    if how & 4 == 0 {
        send(COOKIE_APP.clone(), request("/cookies", [cookie], []));
    } else {
        let app = layered_app_with(|builder| with_readers(builder, true));
        send(app, request("/layered", [cookie], []));
    }
}
