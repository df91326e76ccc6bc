//! The encodings the legacy formats share: Python's lenient base64, Django's base62 timestamps,
//! itsdangerous' integer timestamps, and zlib inflated within a bound.

use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine;

/// The most bytes a compressed payload may inflate to; past it the cookie is refused after
/// inflating no more than this. A real session cookie (at most 4096 bytes compressed) stays
/// well inside it.
pub(crate) const MAX_INFLATED_LEN: usize = 64 * 1024;

/// Decoding as Python's `base64.b64decode` / `urlsafe_b64decode` accept what the frameworks
/// wrote: padding optional, trailing bits not checked.
const LENIENT: GeneralPurposeConfig = GeneralPurposeConfig::new()
    .with_decode_padding_mode(DecodePaddingMode::Indifferent)
    .with_decode_allow_trailing_bits(true);

/// Standard base64 (webapp2).
pub(crate) const STANDARD: GeneralPurpose = GeneralPurpose::new(&alphabet::STANDARD, LENIENT);

/// URL-safe base64 (itsdangerous, Django).
pub(crate) const URL_SAFE: GeneralPurpose = GeneralPurpose::new(&alphabet::URL_SAFE, LENIENT);

/// Why a payload could not be decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum DecodeError {
    /// Not base64, not zlib, or not a number.
    Malformed,
    /// The payload inflates to more than [`MAX_INFLATED_LEN`] bytes.
    TooLarge,
}

/// Inflates a zlib stream (header and Adler-32 checked, as Python's `zlib.decompress` does),
/// refusing it as soon as it passes [`MAX_INFLATED_LEN`].
pub(crate) fn inflate(compressed: &[u8]) -> Result<Vec<u8>, DecodeError> {
    use miniz_oxide::inflate::{decompress_to_vec_zlib_with_limit, TINFLStatus};
    decompress_to_vec_zlib_with_limit(compressed, MAX_INFLATED_LEN).map_err(|error| {
        match error.status {
            TINFLStatus::HasMoreOutput => DecodeError::TooLarge,
            _ => DecodeError::Malformed,
        }
    })
}

/// A timestamp in Django's base62 (`0-9A-Za-z`, an optional leading `-`).
pub(crate) fn base62(text: &str) -> Result<i64, DecodeError> {
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    if digits.is_empty() {
        return Err(DecodeError::Malformed);
    }
    let mut value: i64 = 0;
    for byte in digits.bytes() {
        let digit = match byte {
            b'0'..=b'9' => byte - b'0',
            b'A'..=b'Z' => byte - b'A' + 10,
            b'a'..=b'z' => byte - b'a' + 36,
            _ => return Err(DecodeError::Malformed),
        };
        value = value
            .checked_mul(62)
            .and_then(|v| v.checked_add(i64::from(digit)))
            .ok_or(DecodeError::Malformed)?;
    }
    Ok(if negative { -value } else { value })
}

/// An itsdangerous timestamp: URL-safe base64 of a big-endian unsigned integer.
pub(crate) fn big_endian_timestamp(text: &str) -> Result<i64, DecodeError> {
    let bytes = URL_SAFE.decode(text).map_err(|_| DecodeError::Malformed)?;
    if bytes.len() > 8 {
        return Err(DecodeError::Malformed);
    }
    let value = bytes
        .iter()
        .fold(0u64, |value, &byte| (value << 8) | u64::from(byte));
    i64::try_from(value).map_err(|_| DecodeError::Malformed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base62_reads_djangos_timestamps() {
        // django.core.signing.b62_encode(1700000000) == "1r31eq"
        assert_eq!(base62("1r31eq"), Ok(1_700_000_000));
        assert_eq!(base62("0"), Ok(0));
        assert_eq!(base62("-z"), Ok(-61));
        assert_eq!(base62(""), Err(DecodeError::Malformed));
        assert_eq!(base62("1+2"), Err(DecodeError::Malformed));
        assert_eq!(base62("zzzzzzzzzzzzzzzzzz"), Err(DecodeError::Malformed));
    }

    #[test]
    fn itsdangerous_timestamps_are_big_endian() {
        // itsdangerous: base64_encode(int_to_bytes(1700000000)) == b"ZVPxAA"
        assert_eq!(big_endian_timestamp("ZVPxAA"), Ok(1_700_000_000));
        assert_eq!(
            big_endian_timestamp("AAAAAAAAAAAA"),
            Err(DecodeError::Malformed)
        );
        assert_eq!(big_endian_timestamp("!!"), Err(DecodeError::Malformed));
    }

    #[test]
    fn inflating_stops_at_the_bound() {
        use miniz_oxide::deflate::compress_to_vec_zlib;
        let small = compress_to_vec_zlib(b"{\"a\":1}", 6);
        assert_eq!(inflate(&small).as_deref(), Ok(&b"{\"a\":1}"[..]));
        let bomb = compress_to_vec_zlib(&vec![b' '; MAX_INFLATED_LEN + 1], 9);
        assert!(bomb.len() < 1024, "a bomb is small");
        assert_eq!(inflate(&bomb), Err(DecodeError::TooLarge));
        let exact = compress_to_vec_zlib(&vec![b' '; MAX_INFLATED_LEN], 9);
        assert_eq!(inflate(&exact).map(|v| v.len()), Ok(MAX_INFLATED_LEN));
        assert_eq!(inflate(b"not zlib"), Err(DecodeError::Malformed));
        let mut corrupt = small.clone();
        let last = corrupt.len() - 1;
        corrupt[last] ^= 1;
        assert_eq!(
            inflate(&corrupt),
            Err(DecodeError::Malformed),
            "Adler-32 checked"
        );
    }
}
