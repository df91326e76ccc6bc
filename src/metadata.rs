//! Session metadata for a devices page: when a server-side session was created and last seen,
//! from which browser and network, and the app's label for it. Opt-in with
//! [`SessionConfigBuilder::metadata`](crate::SessionConfigBuilder::metadata); stored under the
//! reserved key `_meta`, never among the app's keys.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};

use axum::extract::ConnectInfo;
use axum::http::{header, Extensions, HeaderMap, HeaderValue};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::Mac;
use serde_json::{Map, Value};
use time::{Duration, OffsetDateTime};

use crate::key::DerivedKey;

/// The longest user agent kept, in bytes: a longer one is cut at a character boundary.
pub const MAX_USER_AGENT_LEN: usize = 256;

/// The longest label kept ([`Session::set_device_label`](crate::Session::set_device_label)), in
/// bytes: a longer one is cut at a character boundary.
pub const MAX_LABEL_LEN: usize = 64;

/// The purpose of the key that hashes client addresses ([`ClientAddress::Hashed`]).
const ADDRESS_PURPOSE: &str = "axum-session-store/client-address/v1";

/// What server-side sessions record about the browser that uses them, for a "where you're
/// signed in" page ([`Session::user_sessions`](crate::Session::user_sessions)): the creation
/// time, the last-seen time (written at most once per
/// [`last_seen_interval`](Self::last_seen_interval), with the request's save when it has one),
/// the user agent unless turned off, and the client address in the form
/// [`client_address`](Self::client_address) chooses (none by default).
///
/// Off unless [`SessionConfigBuilder::metadata`](crate::SessionConfigBuilder::metadata) turns it
/// on; cookie sessions never carry it. A visitor's session that stores nothing gets no record
/// for its metadata: it rides along when the session is saved for another reason.
///
/// ```
/// use axum_session_store::session::{ClientAddress, Metadata};
/// use axum_session_store::SessionConfig;
/// use time::Duration;
///
/// let config = SessionConfig::builder()
///     .secret_key("an example secret, at least 32 bytes long")
///     .metadata(
///         Metadata::new()
///             .last_seen_interval(Duration::minutes(1))
///             .client_address(ClientAddress::Network { ipv4_prefix: 24, ipv6_prefix: 48 }),
///     )
///     .build()?;
/// # Ok::<(), axum_session_store::ConfigError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Metadata {
    last_seen_interval: Duration,
    user_agent: bool,
    client_address: ClientAddress,
}

impl Metadata {
    /// How often the last-seen time is written unless
    /// [`last_seen_interval`](Self::last_seen_interval) says otherwise: every 5 minutes.
    pub const DEFAULT_LAST_SEEN_INTERVAL: Duration = Duration::minutes(5);

    /// Creation and last-seen times and the user agent; no client address.
    pub fn new() -> Self {
        Self {
            last_seen_interval: Self::DEFAULT_LAST_SEEN_INTERVAL,
            user_agent: true,
            client_address: ClientAddress::Off,
        }
    }

    /// The last-seen time (with the user agent and address) is written when a request loads a
    /// session last seen this long ago or longer: a request in between writes nothing for it.
    /// Zero writes on every request that loads the session; a negative interval fails
    /// `build()`.
    pub fn last_seen_interval(mut self, interval: Duration) -> Self {
        self.last_seen_interval = interval;
        self
    }

    /// Whether to keep the `User-Agent` header (cut to [`MAX_USER_AGENT_LEN`] bytes); on by
    /// default.
    pub fn user_agent(mut self, keep: bool) -> Self {
        self.user_agent = keep;
        self
    }

    /// Which form of the client's address to keep: none by default.
    pub fn client_address(mut self, form: ClientAddress) -> Self {
        self.client_address = form;
        self
    }

    /// The interval, or the setting that is wrong.
    pub(crate) fn check(&self) -> Result<(), (&'static str, String)> {
        if self.last_seen_interval.is_negative() {
            return Err((
                "metadata last_seen_interval",
                format!("{} is negative", self.last_seen_interval),
            ));
        }
        if let ClientAddress::Network {
            ipv4_prefix,
            ipv6_prefix,
        } = self.client_address
        {
            if ipv4_prefix > 32 || ipv6_prefix > 128 {
                return Err((
                    "metadata client_address",
                    format!(
                        "a prefix of /{ipv4_prefix} (IPv4, at most 32) or /{ipv6_prefix} \
                         (IPv6, at most 128) is too long"
                    ),
                ));
            }
        }
        Ok(())
    }
}

impl Default for Metadata {
    fn default() -> Self {
        Self::new()
    }
}

/// The form in which [`Metadata`] keeps the client's address: personal data in many
/// jurisdictions, so off unless chosen.
///
/// The address is the one axum's `ConnectInfo<SocketAddr>` holds (serve with
/// `into_make_service_with_connect_info::<SocketAddr>()`). Behind a reverse proxy that is the
/// proxy's: a middleware placed outside the session layer can insert a `ConnectInfo` with the
/// client's address taken from the header the proxy sets, which only the app knows to trust.
/// Without a `ConnectInfo` there is no address to keep: the first such request logs a warning,
/// and the device lists none.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClientAddress {
    /// Keep no address.
    #[default]
    Off,
    /// The full address, such as `203.0.113.7`.
    Full,
    /// The network the address is in, such as `203.0.113.0/24`: enough to tell a country or a
    /// provider apart, not a household.
    Network {
        /// The prefix length kept of an IPv4 address (0–32).
        ipv4_prefix: u8,
        /// The prefix length kept of an IPv6 address (0–128).
        ipv6_prefix: u8,
    },
    /// A keyed hash of the address (22 characters, keyed from the secret key): the same
    /// address always gives the same value, so a page can say "the same network as before"
    /// without the address being stored.
    Hashed,
}

/// Records the metadata of the requests of one config.
#[derive(Debug)]
pub(crate) struct MetadataRecorder {
    settings: Metadata,
    address_key: DerivedKey,
    /// Whether a request without `ConnectInfo` was already reported.
    warned_no_address: AtomicBool,
}

impl MetadataRecorder {
    /// A recorder for `settings`, hashing addresses with a key derived from `secret`.
    pub(crate) fn new(settings: Metadata, secret: &[u8]) -> Self {
        Self {
            settings,
            address_key: DerivedKey::derive(secret, ADDRESS_PURPOSE),
            warned_no_address: AtomicBool::new(false),
        }
    }

    /// How often the last-seen time is written.
    pub(crate) fn interval(&self) -> Duration {
        self.settings.last_seen_interval
    }

    /// What the request with these `headers` and `extensions` says of its client, kept as it
    /// came (a reference-counted header value, an address): cheap, for a request whose
    /// sessions may need none of it.
    pub(crate) fn capture(&self, headers: &HeaderMap, extensions: &Extensions) -> Capture {
        Capture {
            user_agent: self
                .settings
                .user_agent
                .then(|| headers.get(header::USER_AGENT).cloned())
                .flatten(),
            peer: self.peer(extensions),
        }
    }

    /// The client's address, when one is to be kept and the request has it; the first time it
    /// is wanted and missing, a warning that says how to provide it.
    fn peer(&self, extensions: &Extensions) -> Option<IpAddr> {
        if self.settings.client_address == ClientAddress::Off {
            return None;
        }
        let peer = extensions.get::<ConnectInfo<SocketAddr>>();
        if peer.is_none() && !self.warned_no_address.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                "session metadata keeps client addresses, but a request came without axum's \
                 ConnectInfo<SocketAddr>: serve with \
                 into_make_service_with_connect_info::<SocketAddr>() (behind a proxy, insert \
                 it in a middleware outside the session layer); no address is kept meanwhile"
            );
        }
        peer.map(|ConnectInfo(peer)| peer.ip())
    }

    /// What the settings keep of the client `capture` describes.
    pub(crate) fn client(&self, capture: &Capture) -> Client {
        let user_agent = capture.user_agent.as_ref().map(|value| {
            let text = String::from_utf8_lossy(value.as_bytes());
            cut(&text, MAX_USER_AGENT_LEN)
        });
        let address = capture.peer.and_then(|peer| self.address(peer));
        Client {
            user_agent,
            address,
        }
    }

    fn address(&self, ip: IpAddr) -> Option<String> {
        let ip = ip.to_canonical();
        match self.settings.client_address {
            ClientAddress::Off => None,
            ClientAddress::Full => Some(ip.to_string()),
            ClientAddress::Network {
                ipv4_prefix,
                ipv6_prefix,
            } => Some(network(ip, ipv4_prefix, ipv6_prefix)),
            ClientAddress::Hashed => {
                let mut mac = self.address_key.mac();
                mac.update(ip.to_string().as_bytes());
                let digest = mac.finalize().into_bytes();
                Some(URL_SAFE_NO_PAD.encode(&digest[..16]))
            }
        }
    }
}

/// The network of `ip`: its first `v4` (IPv4) or `v6` (IPv6) bits, as `address/prefix`.
fn network(ip: IpAddr, v4: u8, v6: u8) -> String {
    match ip {
        IpAddr::V4(ip) => {
            let mask = u32::MAX
                .checked_shl(32 - u32::from(v4.min(32)))
                .unwrap_or(0);
            format!("{}/{v4}", Ipv4Addr::from(u32::from(ip) & mask))
        }
        IpAddr::V6(ip) => {
            let mask = u128::MAX
                .checked_shl(128 - u32::from(v6.min(128)))
                .unwrap_or(0);
            format!("{}/{v6}", Ipv6Addr::from(u128::from(ip) & mask))
        }
    }
}

/// `text` cut to at most `max` bytes, at a character boundary.
pub(crate) fn cut(text: &str, max: usize) -> String {
    let mut end = text.len().min(max);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_owned()
}

/// What a request says of its client, as it came.
#[derive(Clone, Debug, Default)]
pub(crate) struct Capture {
    user_agent: Option<HeaderValue>,
    peer: Option<IpAddr>,
}

/// What a request says of its client, in the forms the settings keep.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Client {
    pub(crate) user_agent: Option<String>,
    pub(crate) address: Option<String>,
}

/// The metadata a session stores, under `_meta`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct StoredMetadata {
    /// When the session was created (Unix seconds), where known.
    pub(crate) created: Option<i64>,
    /// When a request last wrote it (Unix seconds).
    pub(crate) seen: Option<i64>,
    pub(crate) user_agent: Option<String>,
    pub(crate) address: Option<String>,
    pub(crate) label: Option<String>,
}

impl StoredMetadata {
    /// The metadata of a session created at `now` by a request from `client`.
    pub(crate) fn new(client: &Client, now: OffsetDateTime) -> Self {
        let mut stored = Self {
            created: Some(now.unix_timestamp()),
            ..Self::default()
        };
        stored.see(client, now);
        stored
    }

    /// Whether the last-seen time is `interval` old or older as of `now`.
    pub(crate) fn is_due(&self, interval: Duration, now: OffsetDateTime) -> bool {
        self.seen.is_none_or(|seen| {
            now.unix_timestamp().saturating_sub(seen) >= interval.whole_seconds()
        })
    }

    /// Records a request from `client` at `now`.
    pub(crate) fn see(&mut self, client: &Client, now: OffsetDateTime) {
        self.seen = Some(now.unix_timestamp());
        self.user_agent.clone_from(&client.user_agent);
        self.address.clone_from(&client.address);
    }

    /// The stored form; `None` fields are left out.
    pub(crate) fn to_value(&self) -> Value {
        let mut map = Map::new();
        let mut put = |key: &str, value: Option<Value>| {
            if let Some(value) = value {
                map.insert(key.to_owned(), value);
            }
        };
        put("created", self.created.map(Value::from));
        put("seen", self.seen.map(Value::from));
        put("agent", self.user_agent.as_deref().map(Value::from));
        put("address", self.address.as_deref().map(Value::from));
        put("label", self.label.as_deref().map(Value::from));
        Value::Object(map)
    }

    /// The metadata `value` holds (its texts moved out, not copied); what is not of the
    /// expected shape is left out.
    pub(crate) fn from_owned(value: Value) -> Option<Self> {
        let Value::Object(mut map) = value else {
            return None;
        };
        let (created, seen) = (map.get("created"), map.get("seen"));
        let (created, seen) = (
            created.and_then(Value::as_i64),
            seen.and_then(Value::as_i64),
        );
        let mut text = |key: &str| match map.remove(key) {
            Some(Value::String(text)) => Some(text),
            _ => None,
        };
        Some(Self {
            created,
            seen,
            user_agent: text("agent"),
            address: text("address"),
            label: text("label"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const SECRET: &[u8] = b"an example secret, at least 32 bytes long";

    fn request(agent: &str, peer: &str) -> (HeaderMap, Extensions) {
        let mut headers = HeaderMap::new();
        headers.insert(header::USER_AGENT, agent.parse().unwrap());
        let mut extensions = Extensions::new();
        extensions.insert(ConnectInfo::<SocketAddr>(peer.parse().unwrap()));
        (headers, extensions)
    }

    fn client(form: ClientAddress, peer: &str) -> Client {
        let recorder = MetadataRecorder::new(Metadata::new().client_address(form), SECRET);
        let (headers, extensions) = request("Firefox", peer);
        recorder.client(&recorder.capture(&headers, &extensions))
    }

    #[test]
    fn the_address_is_kept_in_the_form_chosen() {
        let peer = "203.0.113.77:5000";
        assert_eq!(client(ClientAddress::Off, peer).address, None);
        assert_eq!(
            client(ClientAddress::Full, peer).address.as_deref(),
            Some("203.0.113.77")
        );
        let network = ClientAddress::Network {
            ipv4_prefix: 24,
            ipv6_prefix: 48,
        };
        assert_eq!(
            client(network, peer).address.as_deref(),
            Some("203.0.113.0/24")
        );
        assert_eq!(
            client(network, "[2001:db8:aaaa:bbbb::1]:80")
                .address
                .as_deref(),
            Some("2001:db8:aaaa::/48")
        );
        assert_eq!(
            client(network, "[::ffff:203.0.113.77]:80")
                .address
                .as_deref(),
            Some("203.0.113.0/24"),
            "an IPv4 address mapped into IPv6 is IPv4"
        );
        let hashed = client(ClientAddress::Hashed, peer).address.unwrap();
        assert_eq!(hashed.len(), 22);
        assert!(!hashed.contains("203"));
        assert_eq!(
            client(ClientAddress::Hashed, "203.0.113.77:1").address,
            Some(hashed.clone()),
            "the port is not part of it"
        );
        assert_ne!(
            client(ClientAddress::Hashed, "203.0.113.78:1").address,
            Some(hashed)
        );
        assert_eq!(network_of_zero(), "0.0.0.0/0");
    }

    fn network_of_zero() -> String {
        network("1.2.3.4".parse().unwrap(), 0, 0)
    }

    #[test]
    fn a_long_user_agent_is_cut_at_a_character_boundary() {
        let recorder = MetadataRecorder::new(Metadata::new(), SECRET);
        let (headers, extensions) = request(&"é".repeat(200), "127.0.0.1:1");
        let capture = recorder.capture(&headers, &extensions);
        let agent = recorder.client(&capture).user_agent.unwrap();
        assert_eq!(agent.len(), MAX_USER_AGENT_LEN);
        let off = MetadataRecorder::new(Metadata::new().user_agent(false), SECRET);
        let capture = off.capture(&headers, &extensions);
        assert_eq!(off.client(&capture), Client::default());
    }

    #[test]
    fn stored_and_read_back() {
        let now = OffsetDateTime::from_unix_timestamp(1_000).unwrap();
        let client = Client {
            user_agent: Some("Firefox".into()),
            address: None,
        };
        let mut stored = StoredMetadata::new(&client, now);
        stored.label = Some("laptop".into());
        let value = stored.to_value();
        assert_eq!(
            value,
            json!({"created": 1000, "seen": 1000, "agent": "Firefox", "label": "laptop"})
        );
        assert_eq!(StoredMetadata::from_owned(value), Some(stored.clone()));
        assert_eq!(StoredMetadata::from_owned(json!("x")), None);
        assert!(!stored.is_due(Duration::minutes(5), now + Duration::minutes(4)));
        assert!(stored.is_due(Duration::minutes(5), now + Duration::minutes(5)));
        assert!(stored.is_due(Duration::ZERO, now));
    }

    #[test]
    fn wrong_settings_are_named() {
        assert!(Metadata::new().check().is_ok());
        assert!(Metadata::new()
            .last_seen_interval(Duration::seconds(-1))
            .check()
            .is_err());
        let long = ClientAddress::Network {
            ipv4_prefix: 33,
            ipv6_prefix: 48,
        };
        assert!(Metadata::new().client_address(long).check().is_err());
    }
}
