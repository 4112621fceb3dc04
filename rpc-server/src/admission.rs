//! The `on_connect` hook: admit a client (granting permissions and typed
//! extensions) or refuse it with an HTTP status before the upgrade.

use std::fmt;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;

use http::{HeaderMap, StatusCode};
use rpc_core::{ConnectionInfo, DisconnectReason, Extensions, Peer, Permissions};

/// What `on_connect` sees of a client asking to connect: its address and
/// its handshake request.
#[derive(Debug)]
pub struct ConnectRequest {
    /// Reuses the connection's accessors (cookies, headers, …).
    info: ConnectionInfo,
    peer: Option<Peer>,
}

impl ConnectRequest {
    pub(crate) fn new(
        remote_addr: SocketAddr,
        path: &str,
        query: Option<&str>,
        headers: HeaderMap,
        peer: Option<Peer>,
    ) -> Self {
        Self {
            info: ConnectionInfo::new()
                .with_remote_addr(remote_addr)
                .with_path(path)
                .with_query(query.map(str::to_owned))
                .with_headers(headers),
            peer,
        }
    }

    /// The connection-to-be's [`Peer`], for a WebSocket (`None` for an
    /// HTTP request): keep it to notify or call the client once it is
    /// connected. Messages sent before then wait in its queue, so send them
    /// from a spawned task, not from `on_connect` itself.
    pub fn peer(&self) -> Option<Peer> {
        self.peer.clone()
    }

    /// Whether this is a WebSocket upgrade (else one HTTP request).
    pub fn is_websocket(&self) -> bool {
        self.peer.is_some()
    }

    /// The client's address.
    pub fn remote_addr(&self) -> SocketAddr {
        self.info
            .remote_addr()
            .unwrap_or_else(|| SocketAddr::from(([0, 0, 0, 0], 0)))
    }

    /// The client's address: the one a trusted reverse proxy forwarded
    /// ([`ServerConfig::trusted_proxies`](crate::ServerConfig::trusted_proxies)),
    /// else the peer's.
    pub fn client_ip(&self) -> std::net::IpAddr {
        self.info
            .client_ip()
            .unwrap_or_else(|| self.remote_addr().ip())
    }

    /// Sets the client's address, when a trusted proxy forwarded it.
    pub(crate) fn with_client_ip(mut self, ip: std::net::IpAddr) -> Self {
        self.info = self.info.with_client_ip(ip);
        self
    }

    /// The request path.
    pub fn path(&self) -> &str {
        self.info.path()
    }

    /// The query string, without `?`.
    pub fn query(&self) -> Option<&str> {
        self.info.query()
    }

    /// A query parameter's raw (still percent-encoded) value.
    pub fn query_param(&self, name: &str) -> Option<&str> {
        self.query()?
            .split('&')
            .filter_map(|pair| pair.split_once('='))
            .find_map(|(key, value)| (key == name).then_some(value))
    }

    /// The request headers.
    pub fn headers(&self) -> &HeaderMap {
        self.info.headers()
    }

    /// One header's value, if present and text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.info.header(name)
    }

    /// A cookie's value.
    pub fn cookie(&self, name: &str) -> Option<&str> {
        self.info.cookie(name)
    }

    /// The token of an `Authorization: Bearer <token>` header.
    pub fn bearer_token(&self) -> Option<&str> {
        let value = self.header("authorization")?;
        let (scheme, token) = value.split_once(' ')?;
        scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
    }

    /// The client's token, wherever a client can put it: an
    /// `Authorization: Bearer` header; else, for browsers (which cannot
    /// set headers on a WebSocket handshake), the subprotocols
    /// `bearer, <token>` (`new WebSocket(url, ["bearer", token])`: the
    /// server answers with `bearer` alone, never the token); else the
    /// `access_token` query parameter (RFC 6750; it may end up in proxy
    /// logs, so prefer the others).
    ///
    /// The server logs none of them, and a connection does not keep the
    /// subprotocol header among its headers.
    pub fn token(&self) -> Option<&str> {
        self.bearer_token()
            .or_else(|| subprotocol_token(self.headers()))
            .or_else(|| self.query_param("access_token"))
            .filter(|token| !token.is_empty())
    }
}

/// The subprotocols a handshake offers, in order.
pub(crate) fn offered_subprotocols(headers: &HeaderMap) -> impl Iterator<Item = &str> {
    headers
        .get_all(http::header::SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(str::trim)
}

/// The subprotocol offered right after `bearer`.
pub(crate) fn subprotocol_token(headers: &HeaderMap) -> Option<&str> {
    let mut offered = offered_subprotocols(headers);
    offered.find(|protocol| protocol.eq_ignore_ascii_case(BEARER_SUBPROTOCOL))?;
    offered.next()
}

/// The subprotocol a browser offers before its token.
pub(crate) const BEARER_SUBPROTOCOL: &str = "bearer";

/// What `on_connect` grants an admitted connection: permissions (checked
/// against `#[rpc(permission = "…")]`) and typed values handlers read from
/// their `RpcContext`.
#[derive(Debug, Default)]
#[must_use]
pub struct Admission {
    pub(crate) permissions: Permissions,
    pub(crate) extensions: Extensions,
}

impl Admission {
    /// Admits the client with nothing granted.
    pub fn new() -> Self {
        Self::default()
    }

    /// Grants a permission.
    pub fn grant(mut self, permission: impl Into<Box<str>>) -> Self {
        self.permissions.grant(permission);
        self
    }

    /// Stores a typed value for the connection (the authenticated user,
    /// say), read back with `ctx.extensions().get::<T>()`.
    pub fn insert<T: Send + Sync + 'static>(mut self, value: T) -> Self {
        self.extensions.insert(value);
        self
    }
}

/// A refusal: the client gets this HTTP status and message, and the
/// connection is never upgraded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub(crate) status: StatusCode,
    pub(crate) message: String,
}

impl Rejection {
    /// A refusal with any status.
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }

    /// 401 Unauthorized: who are you?
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, message)
    }

    /// 403 Forbidden: you may not.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, message)
    }

    /// The status sent.
    pub fn status(&self) -> StatusCode {
        self.status
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.status, self.message)
    }
}

impl std::error::Error for Rejection {}

/// The stored `on_connect` hook.
pub(crate) type OnConnect = Arc<
    dyn Fn(ConnectRequest) -> Pin<Box<dyn Future<Output = Result<Admission, Rejection>> + Send>>
        + Send
        + Sync,
>;

/// The stored `on_disconnect` hook.
pub(crate) type OnDisconnect = Arc<dyn Fn(&ConnectionInfo, DisconnectReason) + Send + Sync>;

/// Runs `on_connect` for one handshake (or HTTP request), for no longer
/// than `limit` (the handshake timeout): a hook stuck on an authentication
/// service that does not answer holds no connection forever. Past it, the
/// client gets 503.
pub(crate) async fn run_on_connect(
    on_connect: &OnConnect,
    request: ConnectRequest,
    limit: std::time::Duration,
) -> Result<Admission, Rejection> {
    match tokio::time::timeout(limit, on_connect(request)).await {
        Ok(outcome) => outcome,
        Err(_) => {
            tracing::warn!(
                ?limit,
                "on_connect did not answer within the handshake timeout"
            );
            Err(Rejection::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "the server could not admit this connection in time",
            ))
        }
    }
}
