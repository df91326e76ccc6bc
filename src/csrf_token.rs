//! The CSRF token format: a session's 32-byte secret, masked afresh for every response (so the
//! token a page carries differs each time, which defeats BREACH-style compression attacks), and
//! checked in constant time.
//!
//! `token = base64url(mask[32] || (mask XOR secret))`, 86 characters; the secret is stored as
//! `base64url(secret)`, 43 characters.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use subtle::ConstantTimeEq;

/// Bytes of a CSRF secret.
const SECRET_LEN: usize = 32;

/// A fresh secret, in its stored form.
pub(crate) fn new_secret() -> Result<String, std::io::Error> {
    let mut secret = [0u8; SECRET_LEN];
    crate::id::fill_random(&mut secret)?;
    Ok(URL_SAFE_NO_PAD.encode(secret))
}

/// The stored secret's bytes; `None` for anything that is no secret.
fn secret_bytes(stored: &str) -> Option<[u8; SECRET_LEN]> {
    let mut secret = [0u8; SECRET_LEN];
    match URL_SAFE_NO_PAD.decode_slice(stored, &mut secret) {
        Ok(SECRET_LEN) => Some(secret),
        _ => None,
    }
}

/// A token for the stored secret, masked with fresh random bytes.
/// Whether `stored` has the shape of a stored secret (from a cookie the server signed).
pub(crate) fn is_secret(stored: &str) -> bool {
    secret_bytes(stored).is_some()
}

pub(crate) fn mask(stored: &str) -> Result<String, std::io::Error> {
    let secret = secret_bytes(stored).unwrap_or_default();
    let mut token = [0u8; 2 * SECRET_LEN];
    crate::id::fill_random(&mut token[..SECRET_LEN])?;
    for i in 0..SECRET_LEN {
        token[SECRET_LEN + i] = token[i] ^ secret[i];
    }
    Ok(URL_SAFE_NO_PAD.encode(token))
}

/// Whether `token` unmasks to the stored secret, compared in constant time.
pub(crate) fn verify(token: &str, stored: &str) -> bool {
    let Some(secret) = secret_bytes(stored) else {
        return false;
    };
    let mut raw = [0u8; 2 * SECRET_LEN];
    if !matches!(URL_SAFE_NO_PAD.decode_slice(token.trim(), &mut raw), Ok(n) if n == raw.len()) {
        return false;
    }
    let mut unmasked = [0u8; SECRET_LEN];
    for i in 0..SECRET_LEN {
        unmasked[i] = raw[i] ^ raw[SECRET_LEN + i];
    }
    unmasked.ct_eq(&secret).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_differ_every_time_and_unmask_to_their_secret() {
        let secret = new_secret().unwrap();
        let (a, b) = (mask(&secret).unwrap(), mask(&secret).unwrap());
        assert_ne!(a, b, "masked afresh");
        assert_eq!(a.len(), 86);
        assert!(verify(&a, &secret) && verify(&b, &secret));
        let other = new_secret().unwrap();
        assert!(!verify(&a, &other), "another session's secret");
        for bad in ["", "x", &a[..85], &format!("{a}A"), &secret] {
            assert!(!verify(bad, &secret), "{bad:?}");
        }
        let mut flipped = a.into_bytes();
        flipped[50] = if flipped[50] == b'A' { b'B' } else { b'A' };
        assert!(!verify(&String::from_utf8(flipped).unwrap(), &secret));
    }
}
