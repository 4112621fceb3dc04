//! What a method can know about the call it is serving and its connection.

use std::net::SocketAddr;
use std::sync::Arc;

use http::HeaderMap;

use crate::connection::ConnectionInfo;
use crate::connection::extensions::Extensions;
use crate::connection::id::ConnectionId;
use crate::peer::Peer;
use crate::wire::error::RpcError;
use crate::wire::id::{Id, OwnedId};

/// The context of one call, given to a method that takes `&RpcContext`.
///
/// It is built only for methods that ask for it, so methods that don't pay
/// nothing for it.
#[derive(Debug, Clone)]
pub struct RpcContext {
    method: Box<str>,
    id: Option<OwnedId>,
    connection: Arc<ConnectionInfo>,
}

impl RpcContext {
    /// The context of a call to `method` with `id` (`None` for a
    /// notification) on `connection`.
    pub fn new(method: &str, id: Option<Id<'_>>, connection: Arc<ConnectionInfo>) -> Self {
        Self {
            method: method.into(),
            id: id.map(|id| id.to_owned()),
            connection,
        }
    }

    /// The method name as the client sent it.
    pub fn method(&self) -> &str {
        &self.method
    }

    /// The request id, exactly as received; `None` for a notification.
    pub fn id(&self) -> Option<Id<'_>> {
        self.id.as_ref().map(OwnedId::as_id)
    }

    /// Whether the call is a notification (no reply will be sent).
    pub fn is_notification(&self) -> bool {
        self.id.is_none()
    }

    /// The connection the call arrived on.
    pub fn connection(&self) -> &Arc<ConnectionInfo> {
        &self.connection
    }

    /// The connection's id, unique across every instance sharing a group
    /// backend (what `notify_connection` takes).
    pub fn connection_id(&self) -> ConnectionId {
        self.connection.id()
    }

    /// The peer's address, when the transport has one.
    pub fn remote_addr(&self) -> Option<SocketAddr> {
        self.connection.remote_addr()
    }

    /// The client's address: the one a trusted reverse proxy forwarded,
    /// else the peer's.
    pub fn client_ip(&self) -> Option<std::net::IpAddr> {
        self.connection.client_ip()
    }

    /// The request path of the connection's handshake.
    pub fn path(&self) -> &str {
        self.connection.path()
    }

    /// The query string of the connection's handshake, without `?`.
    pub fn query(&self) -> Option<&str> {
        self.connection.query()
    }

    /// The connection's handshake headers.
    pub fn headers(&self) -> &HeaderMap {
        self.connection.headers()
    }

    /// A cookie from the connection's handshake.
    pub fn cookie(&self, name: &str) -> Option<&str> {
        self.connection.cookie(name)
    }

    /// The negotiated WebSocket subprotocol.
    pub fn subprotocol(&self) -> Option<&str> {
        self.connection.subprotocol()
    }

    /// Typed values stored for the connection by its `on_connect` hook.
    pub fn extensions(&self) -> &Extensions {
        self.connection.extensions()
    }

    /// The other side of the connection, to notify or call it; `None` when
    /// the transport is one-way (HTTP, the in-memory harness).
    pub fn peer(&self) -> Option<&Peer> {
        self.connection.peer()
    }

    /// Joins the connection to a named group (for `notify_group`); it
    /// leaves every group when it closes. Does nothing without a peer.
    /// Fails (REQUEST_TOO_LARGE, saying which) past the server's caps on
    /// groups per connection and on the length of a group's name: a method
    /// returning `Result<_, RpcError>` can pass it on with `?`.
    pub fn join(&self, group: &str) -> Result<(), RpcError> {
        match self.peer() {
            Some(peer) => peer.join(group),
            None => Ok(()),
        }
    }

    /// Leaves a named group.
    pub fn leave(&self, group: &str) {
        if let Some(peer) = self.peer() {
            peer.leave(group);
        }
    }

    /// Every message broadcast to `group` from now on
    /// ([`Peer::group_stream`]); METHOD_NOT_FOUND without a peer.
    pub fn group_stream(&self, group: &str) -> Result<crate::GroupStream, RpcError> {
        self.group_stream_since(group, None)
    }

    /// What `group`'s history holds after `since`, then every message
    /// broadcast to it from now on ([`Peer::group_stream_since`]);
    /// METHOD_NOT_FOUND without a peer.
    pub fn group_stream_since(
        &self,
        group: &str,
        since: Option<crate::Position>,
    ) -> Result<crate::GroupStream, RpcError> {
        match self.peer() {
            Some(peer) => peer.group_stream_since(group, since),
            None => Err(RpcError::method_not_found()),
        }
    }
}
