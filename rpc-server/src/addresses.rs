//! Limits per client address: how many connections one IP address may hold
//! at once and how many handshakes it may make per second, and which
//! address a request is from when it comes through a trusted reverse proxy.

use std::collections::HashMap;
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use http::HeaderMap;
use ipnet::IpNet;
use rpc_core::{Rate, RateBucket};

/// The reverse proxies whose `Forwarded` and `X-Forwarded-For` headers are
/// believed ([`ServerConfig::trusted_proxies`](crate::ServerConfig::trusted_proxies)): addresses (`10.0.0.7`,
/// `::1`) and networks (`10.0.0.0/8`, `fd00::/8`).
///
/// ```
/// use rpc_server::config::TrustedProxies;
///
/// let proxies: TrustedProxies = "10.0.0.0/8, 127.0.0.1".parse().unwrap();
/// assert!(proxies.contains("10.1.2.3".parse().unwrap()));
/// assert!(!proxies.contains("192.0.2.1".parse().unwrap()));
/// assert!("10.0.0.0/33".parse::<TrustedProxies>().is_err());
/// ```
#[derive(Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// No proxy is trusted (the default): a connection's address is its
    /// TCP peer's, whatever headers it sends.
    pub fn none() -> Self {
        Self::default()
    }

    /// Whether `ip` is one of the trusted proxies.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.0.iter().any(|net| net.contains(&ip))
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// A [`TrustedProxies`] entry that is neither an address nor a network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseProxiesError(String);

impl fmt::Display for ParseProxiesError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid proxy {:?}: expected an IP address (10.0.0.7) or a network (10.0.0.0/8)",
            self.0
        )
    }
}

impl std::error::Error for ParseProxiesError {}

impl FromStr for TrustedProxies {
    type Err = ParseProxiesError;

    /// Comma-separated addresses and networks.
    fn from_str(text: &str) -> Result<Self, ParseProxiesError> {
        let entries = text.split(',').map(str::trim).filter(|e| !e.is_empty());
        entries
            .map(|entry| {
                entry
                    .parse::<IpNet>()
                    .or_else(|_| entry.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| ParseProxiesError(entry.to_owned()))
            })
            .collect::<Result<_, _>>()
            .map(Self)
    }
}

impl fmt::Debug for TrustedProxies {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.0.iter().map(ToString::to_string))
            .finish()
    }
}

/// IPv4 addresses mapped into IPv6 (a dual-stack socket's peers) as the
/// IPv4 addresses they are, so that one client counts once.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    }
}

/// How many addresses are remembered before those with no connection and
/// a full handshake bucket (no different from new) are forgotten.
const PRUNE_AT: usize = 4_096;

/// Why an address was refused: answered 429.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// At `max_connections_per_ip`.
    Connections(usize),
    /// Over `handshake_rate_per_ip`; retry after this long.
    Handshakes(Duration),
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Connections(max) => {
                write!(f, "this address already has {max} connections open")
            }
            Self::Handshakes(_) => f.write_str("this address is connecting too often"),
        }
    }
}

/// The per-address limits and what each address holds.
pub(crate) struct Addresses {
    max_connections: Option<usize>,
    handshakes: Option<Rate>,
    trusted: TrustedProxies,
    entries: Mutex<HashMap<IpAddr, Entry>>,
}

struct Entry {
    connections: usize,
    handshakes: Option<RateBucket>,
    last_handshake: Instant,
}

/// One connection counted against its address until dropped.
pub(crate) struct AddressSlot {
    addresses: Arc<Addresses>,
    ip: IpAddr,
}

impl Addresses {
    /// The limits of `ServerConfig::{max_connections_per_ip,
    /// handshake_rate_per_ip, trusted_proxies}`.
    pub(crate) fn new(
        max_connections: Option<usize>,
        handshakes: Option<Rate>,
        trusted: TrustedProxies,
    ) -> Self {
        Self {
            max_connections,
            handshakes,
            trusted,
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn limited(&self) -> bool {
        self.max_connections.is_some() || self.handshakes.is_some()
    }

    /// Whether requests from `peer` speak for a client behind it.
    pub(crate) fn is_trusted_proxy(&self, peer: IpAddr) -> bool {
        !self.trusted.is_empty() && self.trusted.contains(peer)
    }

    /// The client's address: the TCP peer's, or, when the peer is a trusted
    /// proxy, the nearest address in `Forwarded` (else `X-Forwarded-For`)
    /// that is not itself a trusted proxy. Anything unreadable stops the
    /// walk: the last address vouched for is used.
    pub(crate) fn client_ip(&self, peer: SocketAddr, headers: &HeaderMap) -> IpAddr {
        let mut client = canonical(peer.ip());
        if !self.is_trusted_proxy(client) {
            return client;
        }
        let forwarded = forwarded_for(headers);
        for hop in forwarded.iter().rev() {
            let Some(ip) = hop else { break };
            client = canonical(*ip);
            if !self.trusted.contains(client) {
                break;
            }
        }
        client
    }

    /// Counts a new connection (or handshake) from `ip`: its slot, `None`
    /// when no per-address limit is set, or why it is refused.
    pub(crate) fn admit(self: &Arc<Self>, ip: IpAddr) -> Result<Option<AddressSlot>, Refusal> {
        if !self.limited() {
            return Ok(None);
        }
        let ip = canonical(ip);
        let now = Instant::now();
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= PRUNE_AT && !entries.contains_key(&ip) {
            let refill = self
                .handshakes
                .map_or(Duration::ZERO, |rate| rate.refill_time());
            entries.retain(|_, entry| {
                entry.connections > 0 || now.duration_since(entry.last_handshake) < refill
            });
        }
        let entry = entries.entry(ip).or_insert_with(|| Entry {
            connections: 0,
            handshakes: self.handshakes.map(RateBucket::new),
            last_handshake: now,
        });
        entry.last_handshake = now;
        if let Some(bucket) = &entry.handshakes {
            bucket.take().map_err(Refusal::Handshakes)?;
        }
        if let Some(max) = self.max_connections {
            if entry.connections >= max {
                return Err(Refusal::Connections(max));
            }
        }
        entry.connections += 1;
        Ok(Some(AddressSlot {
            addresses: Arc::clone(self),
            ip,
        }))
    }
}

impl Drop for AddressSlot {
    fn drop(&mut self) {
        let mut entries = self
            .addresses
            .entries
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if let Some(entry) = entries.get_mut(&self.ip) {
            entry.connections = entry.connections.saturating_sub(1);
        }
    }
}

/// The `for=` addresses of `Forwarded`, else those of `X-Forwarded-For`,
/// nearest client first; `None` for one that is not an address (`unknown`,
/// an obfuscated name, garbage).
fn forwarded_for(headers: &HeaderMap) -> Vec<Option<IpAddr>> {
    let values = |name| {
        headers
            .get_all(name)
            .iter()
            .flat_map(|value| value.to_str().unwrap_or("?").split(','))
            .map(str::trim)
            .collect::<Vec<_>>()
    };
    let forwarded = values(http::header::FORWARDED);
    if !forwarded.is_empty() {
        return forwarded
            .into_iter()
            .map(|element| {
                element
                    .split(';')
                    .filter_map(|pair| pair.trim().split_once('='))
                    .find(|(key, _)| key.trim().eq_ignore_ascii_case("for"))
                    .and_then(|(_, node)| parse_node(node.trim().trim_matches('"')))
            })
            .collect();
    }
    values(http::HeaderName::from_static("x-forwarded-for"))
        .into_iter()
        .map(parse_node)
        .collect()
}

/// `192.0.2.1`, `192.0.2.1:443`, `[2001:db8::1]`, `[2001:db8::1]:443` or
/// `2001:db8::1`.
fn parse_node(node: &str) -> Option<IpAddr> {
    node.parse::<IpAddr>()
        .ok()
        .or_else(|| node.parse::<SocketAddr>().ok().map(|addr| addr.ip()))
        .or_else(|| {
            node.strip_prefix('[')
                .and_then(|rest| rest.strip_suffix(']'))
                .and_then(|inner| inner.parse().ok())
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ServerConfig;

    fn addresses(trusted: &str) -> Arc<Addresses> {
        let config = ServerConfig {
            trusted_proxies: trusted.parse().unwrap(),
            max_connections_per_ip: Some(2),
            ..ServerConfig::default()
        };
        Arc::new(Addresses::new(
            config.max_connections_per_ip,
            config.handshake_rate_per_ip,
            config.trusted_proxies.clone(),
        ))
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, value.parse().unwrap());
        }
        map
    }

    fn peer(ip: &str) -> SocketAddr {
        SocketAddr::new(ip.parse().unwrap(), 40_000)
    }

    #[test]
    fn forwarded_addresses_count_only_behind_a_trusted_proxy() {
        let addresses = addresses("10.0.0.0/8");
        let forwarded = headers(&[("x-forwarded-for", "203.0.113.9, 10.0.0.2")]);
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        // Through two trusted hops, to the client.
        assert_eq!(
            addresses.client_ip(peer("10.0.0.1"), &forwarded),
            ip("203.0.113.9")
        );
        // A client claiming to be someone else is itself.
        assert_eq!(
            addresses.client_ip(peer("198.51.100.7"), &forwarded),
            ip("198.51.100.7")
        );
        // Only the nearest untrusted hop is believed: a client can prepend
        // whatever it likes.
        let spoofed = headers(&[("x-forwarded-for", "1.1.1.1, 203.0.113.9")]);
        assert_eq!(
            addresses.client_ip(peer("10.0.0.1"), &spoofed),
            ip("203.0.113.9")
        );
        // RFC 7239, with quoted IPv6 and ports; preferred to X-Forwarded-For.
        let rfc = headers(&[
            (
                "forwarded",
                r#"for="[2001:db8::17]:4711";proto=https, for=10.0.0.3"#,
            ),
            ("x-forwarded-for", "192.0.2.1"),
        ]);
        assert_eq!(
            addresses.client_ip(peer("10.0.0.1"), &rfc),
            ip("2001:db8::17")
        );
        // An unreadable hop stops the walk at the last one vouched for.
        let garbage = headers(&[("x-forwarded-for", "nonsense, 10.0.0.5")]);
        assert_eq!(
            addresses.client_ip(peer("10.0.0.1"), &garbage),
            ip("10.0.0.5")
        );
        // No header: the proxy itself.
        assert_eq!(
            addresses.client_ip(peer("10.0.0.1"), &HeaderMap::new()),
            ip("10.0.0.1")
        );
    }

    #[test]
    fn an_address_holds_at_most_its_share_and_gets_it_back() {
        let addresses = addresses("");
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        let first = addresses.admit(ip).unwrap();
        let second = addresses.admit(ip).unwrap();
        assert_eq!(addresses.admit(ip).err(), Some(Refusal::Connections(2)));
        // Another address is not affected; the v4-mapped form is the same.
        assert!(addresses.admit("192.0.2.2".parse().unwrap()).is_ok());
        let mapped: IpAddr = "::ffff:192.0.2.1".parse().unwrap();
        assert!(addresses.admit(mapped).is_err());
        drop(first);
        assert!(addresses.admit(ip).is_ok());
        drop(second);
    }

    #[test]
    fn handshakes_past_the_rate_are_refused_with_the_time_to_wait() {
        let config = ServerConfig {
            handshake_rate_per_ip: Some(Rate::per_second(2)),
            ..ServerConfig::default()
        };
        let addresses = Arc::new(Addresses::new(
            config.max_connections_per_ip,
            config.handshake_rate_per_ip,
            config.trusted_proxies.clone(),
        ));
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        let _a = addresses.admit(ip).unwrap();
        let _b = addresses.admit(ip).unwrap();
        match addresses.admit(ip) {
            Err(Refusal::Handshakes(wait)) => assert!(wait <= Duration::from_millis(500)),
            other => panic!("{:?}", other.map(|_| ())),
        }
    }
}
