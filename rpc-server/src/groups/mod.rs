//! Named groups of connections and addressing one connection, for server
//! push (`notify_group`, `notify_connection`): the [`GroupBackend`] trait,
//! what it hands messages to ([`Member`]), and the in-process default
//! ([`LocalGroups`]). `rpc-redis` implements the trait across instances.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use rpc_core::calls::{params_json, request_frame};
use rpc_core::{CallError, ConnectionId, Hooks};
use tokio_tungstenite::tungstenite::Utf8Bytes;

use crate::outgoing::{Outgoing, TrySendError};

mod history;
mod listener;
mod local;
mod memory;

pub(crate) use listener::Listener;

pub use history::{Cursor, GroupHistory, HistoryPage, HistoryRules, Step};
pub use local::{DEFAULT_HISTORY_BYTES, LocalGroups};
pub use rpc_core::{GroupMessage, GroupStream, InstanceId, Position, Positioned};

/// REQUEST_TOO_LARGE for a group name longer than `max` bytes: every name
/// a server joins, follows or broadcasts to is held to its
/// `max_group_name_length`.
pub(crate) fn check_name(group: &str, max: usize) -> Result<(), rpc_core::RpcError> {
    if group.len() > max {
        return Err(
            rpc_core::RpcError::from_code(rpc_core::ErrorCode::REQUEST_TOO_LARGE)
                .with_data(&format!("a group name is {max} bytes at most")),
        );
    }
    Ok(())
}

/// What happens to a connection that does not drain what is pushed to it:
/// its queue holds `max_queued_bytes` already when another message
/// arrives. A client that reads is never judged slow by how many messages
/// a burst holds, only by bytes it leaves unread. Either way the other
/// members are not held up.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum SlowMemberPolicy {
    /// Close that member's connection ([`DisconnectReason::TooSlow`](rpc_core::DisconnectReason::TooSlow)):
    /// no message is silently lost, and a reconnecting client can resync.
    #[default]
    Disconnect,
    /// Skip the message for that member only.
    DropMessage,
}

/// A serialized JSON-RPC message (a notification, usually), ready to go to
/// any number of connections: cloning it shares its bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct Frame(Utf8Bytes);

impl Frame {
    /// A notification frame: `params` must serialize to an array or an
    /// object, or to null (`()`) for none.
    pub fn notification(method: &str, params: impl serde::Serialize) -> Result<Self, CallError> {
        let params = params_json(&params)?;
        Ok(Self::from(request_frame(method, params.as_deref(), None)))
    }

    /// The frame's text.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// Its length in bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether it is empty (no valid message is).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<String> for Frame {
    /// Takes text as it is: it should be one JSON-RPC message.
    fn from(text: String) -> Self {
        Self(Utf8Bytes::from(text))
    }
}

impl fmt::Debug for Frame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Frame").field(&self.as_str()).finish()
    }
}

/// One connection, as a backend sees it: its id, and where to deliver.
#[derive(Clone)]
pub struct Member {
    id: ConnectionId,
    outgoing: Outgoing,
    policy: SlowMemberPolicy,
    /// For a group stream, which wants each message's position with it:
    /// set when a message did not fit its queue, so that it reads the
    /// history for what it missed even if nothing follows.
    overflowed: Option<Arc<AtomicBool>>,
}

impl Member {
    pub(crate) fn new(id: ConnectionId, outgoing: Outgoing, policy: SlowMemberPolicy) -> Self {
        Self {
            id,
            outgoing,
            policy,
            overflowed: None,
        }
    }

    /// A group stream's member: it receives positions with the messages,
    /// and `overflowed` is set when one does not fit its queue.
    pub(crate) fn follower(
        id: ConnectionId,
        outgoing: Outgoing,
        overflowed: Arc<AtomicBool>,
    ) -> Self {
        Self {
            overflowed: Some(overflowed),
            ..Self::new(id, outgoing, SlowMemberPolicy::DropMessage)
        }
    }

    /// Whether it wants each message's position with it (a group stream,
    /// not a connection).
    pub fn follows(&self) -> bool {
        self.overflowed.is_some()
    }

    /// The member's connection id.
    pub fn id(&self) -> ConnectionId {
        self.id
    }

    /// Queues `frame` for the member without waiting; whether it was. A
    /// member whose queue is over its byte budget is handled by the
    /// server's [`SlowMemberPolicy`].
    pub fn deliver(&self, frame: &Frame) -> bool {
        match self.outgoing.try_send(frame.0.clone()) {
            Ok(()) => true,
            Err(TrySendError::Full) => {
                if let Some(overflowed) = &self.overflowed {
                    overflowed.store(true, Ordering::Release);
                }
                if self.policy == SlowMemberPolicy::Disconnect {
                    self.outgoing.close_as_too_slow();
                }
                false
            }
            Err(TrySendError::Closed) => false,
        }
    }

    /// Whether the connection is gone.
    pub fn is_closed(&self) -> bool {
        self.outgoing.is_closed()
    }
}

impl fmt::Debug for Member {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Member")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// A boxed future, as [`GroupBackend`]'s queries return.
pub type BackendFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A query the backend could not answer: its broker is unreachable or
/// answered with an error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackendError(pub String);

impl fmt::Display for BackendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "group backend: {}", self.0)
    }
}

impl std::error::Error for BackendError {}

/// Whether a backend reaches the other instances (`GET /health` says).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum BackendHealth {
    /// Everything reaches everyone.
    Healthy,
    /// Local delivery works; other instances are out of reach for now.
    Degraded(String),
}

/// Where group membership lives and how a push reaches its connections.
///
/// A server registers each of its connections ([`connected`](Self::connected))
/// and tells the backend of every join, leave and close; its `notify_group`
/// and `notify_connection` go to [`broadcast`](Self::broadcast) and
/// [`notify_connection`](Self::notify_connection). Those run on the
/// caller's task and must never wait on a network: deliver to the members
/// here at once, queue what is for other instances to the backend's own
/// task. The in-process [`LocalGroups`] is the default; a backend over a
/// broker (`rpc_redis::RedisGroups`) wraps one for its local members.
pub trait GroupBackend: Send + Sync + 'static {
    /// The instance this backend speaks for; the ids of the connections of
    /// every server using it carry it.
    fn instance(&self) -> InstanceId;

    /// A connection opened here: [`notify_connection`](Self::notify_connection)
    /// reaches it from now on, and it may join groups.
    fn connected(&self, member: &Member);

    /// The connection closed: it leaves every group it was in.
    fn disconnected(&self, id: ConnectionId);

    /// Adds a connection to a group (again is harmless). A connection that
    /// is not [`connected`](Self::connected) cannot join.
    fn join(&self, group: &str, id: ConnectionId);

    /// Removes a connection from a group.
    fn leave(&self, group: &str, id: ConnectionId);

    /// Delivers `frame` once to each member of `group`, on every instance;
    /// returns how many members on this instance it was queued for. In a
    /// group that keeps history, it is stored first, with its position
    /// (a backend whose history lives in a broker delivers it once the
    /// broker has given it one, and returns how many members here will get
    /// it).
    fn broadcast(&self, group: &str, frame: &Frame) -> usize;

    /// Delivers `frame` to one connection, wherever it is; false if it
    /// certainly did not reach it.
    fn notify_connection(&self, id: ConnectionId, frame: &Frame) -> bool;

    /// How many members `group` has on this instance.
    fn local_len(&self, group: &str) -> usize;

    /// The groups a connection of this instance is in.
    fn local_groups(&self, id: ConnectionId) -> Vec<String>;

    /// How many groups a connection of this instance is in, and whether
    /// `group` is one of them (what a join checks against the cap, on every
    /// join: a backend should answer without copying the list).
    fn local_membership(&self, id: ConnectionId, group: &str) -> (usize, bool) {
        let groups = self.local_groups(id);
        let member = groups.iter().any(|joined| joined == group);
        (groups.len(), member)
    }

    /// How many members `group` has over every instance.
    fn member_count<'a>(
        &'a self,
        group: &'a str,
    ) -> BackendFuture<'a, Result<usize, BackendError>> {
        Box::pin(async move { Ok(self.local_len(group)) })
    }

    /// The groups a connection is in, whichever instance holds it.
    fn groups_of(&self, id: ConnectionId) -> BackendFuture<'_, Result<Vec<String>, BackendError>> {
        Box::pin(async move { Ok(self.local_groups(id)) })
    }

    /// Up to `limit` messages of `group`'s history after offset `after`,
    /// oldest first, and where the history stands (see
    /// [`HistoryPage::covers`]); `None` for a group that keeps no history
    /// (the default).
    fn read_history<'a>(
        &'a self,
        group: &'a str,
        after: u64,
        limit: usize,
    ) -> BackendFuture<'a, Result<Option<HistoryPage>, BackendError>> {
        let _ = (group, after, limit);
        Box::pin(async { Ok(None) })
    }

    /// Whether the other instances are within reach.
    fn health(&self) -> BackendHealth {
        BackendHealth::Healthy
    }

    /// Reports [`BackendEvent`](rpc_core::BackendEvent)s to `hooks` too (a
    /// server's, when it starts with this backend).
    fn observe(&self, hooks: Arc<dyn Hooks>) {
        let _ = hooks;
    }

    /// What the backend has carried between instances so far, for the
    /// server's metrics; `None` (the default) for a backend that shares
    /// nothing with other instances.
    fn traffic(&self) -> Option<BackendTraffic> {
        None
    }
}

/// What a group backend shared by several instances has carried, counted
/// since it started ([`GroupBackend::traffic`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct BackendTraffic {
    /// Messages this instance sent to the others.
    pub published: u64,
    /// Messages from other instances received here.
    pub received: u64,
    /// Messages lost: not sent, or sent by another instance and never
    /// received here.
    pub dropped: u64,
    /// Times the link to the broker came back after an outage.
    pub reconnects: u64,
}

impl<B: GroupBackend + ?Sized> GroupBackend for Arc<B> {
    fn instance(&self) -> InstanceId {
        (**self).instance()
    }
    fn connected(&self, member: &Member) {
        (**self).connected(member);
    }
    fn disconnected(&self, id: ConnectionId) {
        (**self).disconnected(id);
    }
    fn join(&self, group: &str, id: ConnectionId) {
        (**self).join(group, id);
    }
    fn leave(&self, group: &str, id: ConnectionId) {
        (**self).leave(group, id);
    }
    fn broadcast(&self, group: &str, frame: &Frame) -> usize {
        (**self).broadcast(group, frame)
    }
    fn notify_connection(&self, id: ConnectionId, frame: &Frame) -> bool {
        (**self).notify_connection(id, frame)
    }
    fn local_len(&self, group: &str) -> usize {
        (**self).local_len(group)
    }
    fn local_groups(&self, id: ConnectionId) -> Vec<String> {
        (**self).local_groups(id)
    }
    fn local_membership(&self, id: ConnectionId, group: &str) -> (usize, bool) {
        (**self).local_membership(id, group)
    }
    fn member_count<'a>(
        &'a self,
        group: &'a str,
    ) -> BackendFuture<'a, Result<usize, BackendError>> {
        (**self).member_count(group)
    }
    fn groups_of(&self, id: ConnectionId) -> BackendFuture<'_, Result<Vec<String>, BackendError>> {
        (**self).groups_of(id)
    }
    fn read_history<'a>(
        &'a self,
        group: &'a str,
        after: u64,
        limit: usize,
    ) -> BackendFuture<'a, Result<Option<HistoryPage>, BackendError>> {
        (**self).read_history(group, after, limit)
    }
    fn health(&self) -> BackendHealth {
        (**self).health()
    }
    fn observe(&self, hooks: Arc<dyn Hooks>) {
        (**self).observe(hooks);
    }

    fn traffic(&self) -> Option<BackendTraffic> {
        (**self).traffic()
    }
}
