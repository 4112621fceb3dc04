//! One connection: what a transport knows about it and what its
//! `on_connect` hook granted it (here), its id, the transport, typed
//! extensions, and the context a method sees of its call.

pub(crate) mod context;
pub(crate) mod extensions;
pub(crate) mod id;
pub(crate) mod transport;

use std::collections::BTreeSet;
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use http::HeaderMap;

use crate::connection::extensions::Extensions;
use crate::connection::id::{ConnectionId, InstanceId};
use crate::connection::transport::Transport;
use crate::describe::metadata::MethodInfo;
use crate::engine::call_rates::CallRates;
use crate::engine::call_slots::CallSlots;
use crate::peer::Peer;

/// What a transport knows about one connection, shared by every call on it:
/// where it comes from, its handshake (path, query, headers, cookies,
/// subprotocol), and what the `on_connect` hook granted (permissions, typed
/// extensions).
///
/// ```
/// use rpc_core::{ConnectionInfo, Permissions};
///
/// let mut headers = http::HeaderMap::new();
/// headers.insert("cookie", "session=abc; theme=dark".parse().unwrap());
/// let info = ConnectionInfo::new()
///     .with_path("/rpc")
///     .with_query(Some("v=2".into()))
///     .with_headers(headers)
///     .with_permissions(Permissions::from_iter(["reports.read"]));
/// assert_eq!(info.cookie("theme"), Some("dark"));
/// assert_eq!(info.query(), Some("v=2"));
/// assert!(info.permissions().allows(&["reports.read"]));
/// assert!(!info.permissions().allows(&["reports.read", "admin"]));
/// ```
#[derive(Debug)]
pub struct ConnectionInfo {
    id: ConnectionId,
    transport: Transport,
    remote_addr: Option<SocketAddr>,
    client_ip: Option<IpAddr>,
    path: String,
    query: Option<String>,
    headers: HeaderMap,
    subprotocol: Option<String>,
    permissions: Permissions,
    extensions: Extensions,
    peer: Option<Peer>,
    rates: Option<Arc<CallRates>>,
    call_slots: Option<CallSlots>,
}

impl Default for ConnectionInfo {
    fn default() -> Self {
        Self::new()
    }
}

impl ConnectionInfo {
    /// A connection with a fresh id on this process's instance
    /// ([`InstanceId::process`]) and nothing else known.
    pub fn new() -> Self {
        Self {
            id: ConnectionId::next(InstanceId::process()),
            transport: Transport::Memory,
            remote_addr: None,
            client_ip: None,
            path: "/".to_owned(),
            query: None,
            headers: HeaderMap::new(),
            subprotocol: None,
            permissions: Permissions::new(),
            extensions: Extensions::new(),
            peer: None,
            rates: None,
            call_slots: None,
        }
    }

    /// A connection with no transport behind it (tests, the in-memory
    /// harness).
    pub fn detached() -> Arc<Self> {
        Arc::new(Self::new())
    }

    /// Moves the connection's id to `instance` (the server's, so that the id
    /// names it among every instance sharing its groups), keeping its number.
    #[must_use]
    pub fn with_instance(mut self, instance: InstanceId) -> Self {
        self.id = ConnectionId::new(instance, self.id.number());
        self
    }

    /// Sets the transport the connection runs on.
    #[must_use]
    pub fn with_transport(mut self, transport: Transport) -> Self {
        self.transport = transport;
        self
    }

    /// Sets the peer's address.
    #[must_use]
    pub fn with_remote_addr(mut self, addr: SocketAddr) -> Self {
        self.remote_addr = Some(addr);
        self
    }

    /// Sets the client's address as a trusted reverse proxy forwarded it,
    /// when it is not the peer's.
    #[must_use]
    pub fn with_client_ip(mut self, ip: IpAddr) -> Self {
        self.client_ip = Some(ip);
        self
    }

    /// Sets the request path of the handshake.
    #[must_use]
    pub fn with_path(mut self, path: impl Into<String>) -> Self {
        self.path = path.into();
        self
    }

    /// Sets the query string of the handshake (without `?`).
    #[must_use]
    pub fn with_query(mut self, query: Option<String>) -> Self {
        self.query = query;
        self
    }

    /// Sets the handshake's headers.
    #[must_use]
    pub fn with_headers(mut self, headers: HeaderMap) -> Self {
        self.headers = headers;
        self
    }

    /// Sets the rate limits the connection's calls are held to: its own
    /// buckets (a WebSocket's), or buckets shared with others (the HTTP
    /// requests of one client address).
    #[must_use]
    pub fn with_rates(mut self, rates: Option<Arc<CallRates>>) -> Self {
        self.rates = rates;
        self
    }

    /// Lets at most `max` of the connection's calls run at once, each call
    /// of a batch counting: those past it are answered SERVER_OVERLOADED
    /// (-32003). (The server's `max_pending_requests`.)
    #[must_use]
    pub fn with_call_limit(mut self, max: usize) -> Self {
        self.call_slots = Some(CallSlots::new(max));
        self
    }

    pub(crate) fn call_slots(&self) -> Option<&CallSlots> {
        self.call_slots.as_ref()
    }

    /// The rate limits of the connection's calls, if any.
    pub fn rates(&self) -> Option<&CallRates> {
        self.rates.as_deref()
    }

    /// Sets the negotiated WebSocket subprotocol.
    #[must_use]
    pub fn with_subprotocol(mut self, subprotocol: Option<String>) -> Self {
        self.subprotocol = subprotocol;
        self
    }

    /// Sets the permissions granted to the connection.
    #[must_use]
    pub fn with_permissions(mut self, permissions: Permissions) -> Self {
        self.permissions = permissions;
        self
    }

    /// Sets the typed extensions.
    #[must_use]
    pub fn with_extensions(mut self, extensions: Extensions) -> Self {
        self.extensions = extensions;
        self
    }

    /// Sets the handle to the other side of the connection.
    #[must_use]
    pub fn with_peer(mut self, peer: Peer) -> Self {
        self.peer = Some(peer);
        self
    }

    /// The connection's id, unique across every instance sharing a group
    /// backend.
    pub fn id(&self) -> ConnectionId {
        self.id
    }

    /// The transport the connection runs on.
    pub fn transport(&self) -> Transport {
        self.transport
    }

    /// The peer's address, when the transport has one.
    pub fn remote_addr(&self) -> Option<SocketAddr> {
        self.remote_addr
    }

    /// The client's address: the one a trusted reverse proxy forwarded
    /// (`ServerConfig::trusted_proxies`), else the peer's.
    pub fn client_ip(&self) -> Option<IpAddr> {
        self.client_ip
            .or_else(|| self.remote_addr.map(|addr| addr.ip()))
    }

    /// The request path of the handshake (`/` when there was none).
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The query string of the handshake, without `?`.
    pub fn query(&self) -> Option<&str> {
        self.query.as_deref()
    }

    /// The handshake's headers. A WebSocket connection keeps all but the
    /// upgrade's own mechanics (`Connection`, `Upgrade` and
    /// `Sec-WebSocket-Key`, `-Version` and `-Extensions`); `on_connect`
    /// sees every header.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// One header's value, if present and text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name)?.to_str().ok()
    }

    /// A cookie's value from the handshake's `Cookie` headers.
    pub fn cookie(&self, name: &str) -> Option<&str> {
        self.cookies()
            .find_map(|(key, value)| (key == name).then_some(value))
    }

    /// Every cookie from the handshake's `Cookie` headers, as name and
    /// value.
    pub fn cookies(&self) -> impl Iterator<Item = (&str, &str)> {
        self.headers
            .get_all(http::header::COOKIE)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(';'))
            .filter_map(|pair| {
                let (name, value) = pair.split_once('=')?;
                Some((name.trim(), value.trim().trim_matches('"')))
            })
    }

    /// The negotiated WebSocket subprotocol.
    pub fn subprotocol(&self) -> Option<&str> {
        self.subprotocol.as_deref()
    }

    /// The permissions granted to the connection.
    pub fn permissions(&self) -> &Permissions {
        &self.permissions
    }

    /// Typed values stored for the connection.
    pub fn extensions(&self) -> &Extensions {
        &self.extensions
    }

    /// The other side of the connection, when the transport is two-way
    /// (WebSocket); `None` over HTTP or in memory.
    pub fn peer(&self) -> Option<&Peer> {
        self.peer.as_ref()
    }
}

/// Here rather than in `metadata` because it reads the connection.
impl MethodInfo {
    /// Whether a connection may call the method: it has every permission
    /// and runs on the method's transport (the in-memory harness may call
    /// anything).
    pub fn allows(&self, connection: &ConnectionInfo) -> bool {
        let transport_ok = match self.transport {
            None => true,
            Some(only) => {
                only == connection.transport() || connection.transport() == Transport::Memory
            }
        };
        transport_ok && connection.permissions().allows(self.permissions)
    }
}

/// The permissions granted to a connection, checked against a method's
/// `#[rpc(permission = "…")]`s (all of which it needs).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Permissions(BTreeSet<Box<str>>);

impl Permissions {
    /// No permissions.
    pub fn new() -> Self {
        Self::default()
    }

    /// Grants `permission`.
    pub fn grant(&mut self, permission: impl Into<Box<str>>) {
        self.0.insert(permission.into());
    }

    /// Whether `permission` was granted.
    pub fn contains(&self, permission: &str) -> bool {
        self.0.contains(permission)
    }

    /// Whether every one of `required` was granted.
    pub fn allows(&self, required: &[&str]) -> bool {
        required.iter().all(|permission| self.contains(permission))
    }

    /// The granted permissions, in order.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|permission| &**permission)
    }
}

impl<S: Into<Box<str>>> FromIterator<S> for Permissions {
    fn from_iter<I: IntoIterator<Item = S>>(iter: I) -> Self {
        Self(iter.into_iter().map(Into::into).collect())
    }
}

impl fmt::Debug for Permissions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_read_from_every_cookie_header() {
        let mut headers = HeaderMap::new();
        headers.append("cookie", "a=1; b = 2".parse().unwrap());
        headers.append("cookie", "c=\"3\"".parse().unwrap());
        let info = ConnectionInfo::new().with_headers(headers);
        let cookies: Vec<_> = info.cookies().collect();
        assert_eq!(cookies, [("a", "1"), ("b", "2"), ("c", "3")]);
        assert_eq!(info.cookie("b"), Some("2"));
        assert_eq!(info.cookie("d"), None);
    }

    #[test]
    fn ids_are_unique() {
        assert_ne!(ConnectionInfo::new().id(), ConnectionInfo::new().id());
    }
}
