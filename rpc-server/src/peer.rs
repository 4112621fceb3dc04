//! The server's side of a `Peer`: notifications and calls to one client
//! over its connection, its group memberships and its subscriptions.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use rpc_core::calls::{PeerFuture, PeerLink, PendingCalls, Response, request_frame};
use rpc_core::{CallError, ConnectionId, ErrorCode, GroupStream, Position, RpcError, Subscription};
use serde_json::value::RawValue;
use tokio_tungstenite::tungstenite::Utf8Bytes;

use crate::config::ServerConfig;
use crate::groups::{self, Frame, GroupBackend, Listener, Member};
use crate::outgoing::Outgoing;
use crate::subscriptions::Subscriptions;

/// One connection's link to its client.
pub(crate) struct ServerLink {
    id: ConnectionId,
    outgoing: Outgoing,
    /// Calls to the client waiting for their responses.
    pending: PendingCalls,
    call_timeout: Duration,
    /// Where the connection is registered from its start until `close`.
    groups: Arc<dyn GroupBackend>,
    closed: AtomicBool,
    /// Its open subscriptions.
    subscriptions: Arc<Subscriptions>,
    max_groups: usize,
    max_group_name_length: usize,
    /// What a group stream may hold untaken.
    max_queued_bytes: usize,
}

/// REQUEST_TOO_LARGE, with what the limit is.
fn too_large(limit: std::fmt::Arguments<'_>) -> RpcError {
    RpcError::from_code(ErrorCode::REQUEST_TOO_LARGE).with_data(&limit.to_string())
}

impl ServerLink {
    /// The link of a new connection, registered with `groups` (so that
    /// `notify_connection` reaches it) until [`close`](Self::close).
    pub(crate) fn new(
        id: ConnectionId,
        outgoing: Outgoing,
        config: &ServerConfig,
        groups: Arc<dyn GroupBackend>,
    ) -> Self {
        let member = Member::new(id, outgoing.clone(), config.slow_member_policy);
        groups.connected(&member);
        Self {
            id,
            outgoing,
            pending: PendingCalls::new(config.max_pending_requests),
            call_timeout: config.peer_call_timeout,
            groups,
            closed: AtomicBool::new(false),
            subscriptions: Subscriptions::new(config),
            max_groups: config.max_groups_per_connection,
            max_group_name_length: config.max_group_name_length,
            max_queued_bytes: config.max_queued_bytes,
        }
    }

    /// Queues a frame for the client, waiting for room in a slow client's
    /// queue no longer than the peer call timeout: one handler never hangs
    /// on another client.
    async fn queue(&self, frame: Utf8Bytes) -> Result<(), CallError> {
        match tokio::time::timeout(self.call_timeout, self.outgoing.send(frame)).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) => Err(CallError::Closed),
            Err(_) => Err(CallError::Timeout(self.call_timeout)),
        }
    }

    /// REQUEST_TOO_LARGE for a group name past the cap.
    fn check_group_name(&self, group: &str) -> Result<(), RpcError> {
        groups::check_name(group, self.max_group_name_length)
    }

    /// Whether any call to the client awaits a response (so incoming frames
    /// are worth checking for one).
    pub(crate) fn expects_responses(&self) -> bool {
        !self.pending.is_empty()
    }

    /// Hands a response to the call waiting for it; false if none was.
    pub(crate) fn resolve(&self, response: Response<'_>) -> bool {
        self.pending.resolve(response)
    }

    /// The connection ended (or was never upgraded): fail waiting calls at
    /// once, drop every subscription's stream, leave every group, and be
    /// unreachable by id.
    pub(crate) fn close(&self) {
        self.pending.fail_all();
        self.subscriptions.close();
        if !self.closed.swap(true, Ordering::AcqRel) {
            self.groups.disconnected(self.id);
        }
    }
}

/// The connection's own hold on its link, from the handshake to the
/// connection's end: dropping it closes the link, on whatever path the
/// connection ends (refused, timed out, never upgraded, panicked), even
/// while a `Peer` kept by the application keeps the link itself alive.
pub(crate) struct OwnedLink(Arc<ServerLink>);

impl OwnedLink {
    pub(crate) fn new(link: ServerLink) -> Self {
        Self(Arc::new(link))
    }
}

impl std::ops::Deref for OwnedLink {
    type Target = Arc<ServerLink>;

    fn deref(&self) -> &Arc<ServerLink> {
        &self.0
    }
}

impl Drop for OwnedLink {
    fn drop(&mut self) {
        self.0.close();
    }
}

impl PeerLink for ServerLink {
    fn send(&self, frame: String) -> PeerFuture<'_, Result<(), CallError>> {
        Box::pin(async move { self.queue(Utf8Bytes::from(frame)).await })
    }

    fn call(
        &self,
        method: &str,
        params: Option<Box<RawValue>>,
    ) -> PeerFuture<'_, Result<Box<RawValue>, CallError>> {
        let method = method.to_owned();
        Box::pin(async move {
            if self.outgoing.is_closed() {
                return Err(CallError::Closed);
            }
            let (id, pending) = self.pending.register()?;
            let frame = request_frame(&method, params.as_deref(), Some(id));
            if let Err(err) = self.queue(Utf8Bytes::from(frame)).await {
                self.pending.forget(id);
                return Err(err);
            }
            match tokio::time::timeout(self.call_timeout, pending).await {
                Ok(outcome) => outcome,
                Err(_) => {
                    self.pending.forget(id);
                    Err(CallError::Timeout(self.call_timeout))
                }
            }
        })
    }

    fn is_closed(&self) -> bool {
        self.outgoing.is_closed()
    }

    fn join(&self, group: &str) -> Result<(), RpcError> {
        self.check_group_name(group)?;
        if self.closed.load(Ordering::Acquire) {
            return Ok(());
        }
        let (joined, already) = self.groups.local_membership(self.id, group);
        if !already && joined >= self.max_groups {
            return Err(too_large(format_args!(
                "a connection is in {} groups at most",
                self.max_groups
            )));
        }
        self.groups.join(group, self.id);
        // A close that ran meanwhile has left every group already: this
        // membership would outlive the connection.
        if self.closed.load(Ordering::Acquire) {
            self.groups.leave(group, self.id);
        }
        Ok(())
    }

    fn leave(&self, group: &str) {
        self.groups.leave(group, self.id);
    }

    fn groups(&self) -> Vec<String> {
        self.groups.local_groups(self.id)
    }

    fn broadcast(&self, group: &str, frame: String) -> Result<usize, RpcError> {
        self.check_group_name(group)?;
        Ok(self.groups.broadcast(group, &Frame::from(frame)))
    }

    fn notify_connection(&self, id: ConnectionId, frame: String) -> bool {
        self.groups.notify_connection(id, &Frame::from(frame))
    }

    fn group_stream(&self, group: &str, since: Option<Position>) -> Result<GroupStream, RpcError> {
        self.check_group_name(group)?;
        if self.closed.load(Ordering::Acquire) {
            return Err(RpcError::internal("the connection is closed"));
        }
        let listener = Listener::join(group, &self.groups, self.max_queued_bytes, since);
        Ok(GroupStream::new(Box::pin(listener)))
    }

    fn open_subscription(&self, subscription: Subscription) -> Result<(), RpcError> {
        self.subscriptions
            .start(subscription, self.outgoing.clone())
    }

    fn close_subscription(&self, notification: &str, id: &str) -> bool {
        self.subscriptions.stop(notification, id)
    }
}
