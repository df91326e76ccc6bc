//! Session ids: 192 bits from the operating system's CSPRNG, URL-safe base64.

use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

/// Random bytes in an id: 192 bits, well over the 128 that guessing attacks require.
const ID_BYTES: usize = 24;

/// Length of an id in characters: 24 bytes of unpadded base64.
pub(crate) const SESSION_ID_LEN: usize = 32;

/// The id of a server-side session record.
///
/// Ids are made only by this crate: [`SessionId::generate`] draws them from the OS CSPRNG, and
/// [`SessionId::parse`] accepts only strings of their exact shape (32 URL-safe base64
/// characters), so a malformed id never reaches a backend. `Debug` hides the id, so it cannot
/// leak into logs by accident; [`as_str`](Self::as_str) gives it to a backend.
///
/// ```
/// use axum_session_store::SessionId;
///
/// let id = SessionId::generate()?;
/// assert_eq!(id.as_str().len(), 32);
/// assert_eq!(SessionId::parse(id.as_str()), Some(id.clone()));
/// assert_eq!(SessionId::parse("../../etc/passwd"), None);
/// assert_eq!(format!("{id:?}"), "SessionId(..)");
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SessionId([u8; SESSION_ID_LEN]);

impl SessionId {
    /// How many characters an id has: 32, of the URL-safe base64 alphabet (192 random bits).
    pub const LEN: usize = SESSION_ID_LEN;

    /// A new random id.
    ///
    /// # Errors
    /// The operating system's random number generator failed (it essentially never does).
    ///
    /// ```
    /// use axum_session_store::SessionId;
    ///
    /// let (a, b) = (SessionId::generate()?, SessionId::generate()?);
    /// assert_ne!(a, b);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn generate() -> Result<Self, std::io::Error> {
        let mut bytes = [0u8; ID_BYTES];
        fill_random(&mut bytes)?;
        let mut id = [0u8; SESSION_ID_LEN];
        // 24 bytes are exactly 32 base64 characters: the buffer always fits.
        let _ = URL_SAFE_NO_PAD.encode_slice(bytes, &mut id);
        Ok(Self(id))
    }

    /// The id in `value`, if `value` has exactly the shape of one.
    ///
    /// ```
    /// use axum_session_store::SessionId;
    ///
    /// let id = SessionId::generate()?;
    /// assert_eq!(SessionId::parse(id.as_str()), Some(id));
    /// assert_eq!(SessionId::parse("too short"), None);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn parse(value: &str) -> Option<Self> {
        let id: [u8; SESSION_ID_LEN] = value.as_bytes().try_into().ok()?;
        id.iter()
            .all(|&b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            .then_some(Self(id))
    }

    /// The id as text, for a backend's key or row.
    ///
    /// ```
    /// use axum_session_store::SessionId;
    ///
    /// let id = SessionId::generate()?;
    /// assert_eq!(id.as_str().len(), SessionId::LEN);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn as_str(&self) -> &str {
        // Only URL-safe base64 characters ever get in: always ASCII.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

impl fmt::Debug for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionId(..)")
    }
}

/// Fills `bytes` from the operating system's random generator: an I/O error when it fails (it
/// essentially never does).
pub(crate) fn fill_random(bytes: &mut [u8]) -> Result<(), std::io::Error> {
    getrandom::fill(bytes).map_err(std::io::Error::other)
}
