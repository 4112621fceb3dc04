//! Lifecycle hooks: cheap observers of calls and connections, for metrics
//! and audit logs.

use std::fmt;
use std::time::Duration;

use crate::connection::ConnectionInfo;
use crate::engine::service::Call;
use crate::wire::error::ErrorCode;

/// Observes every call (notifications and batch elements included) and
/// every connection. Each method has an empty default, so implement only
/// what you need. Hooks run inline on the request path: keep them cheap
/// (bump a counter, send to a channel). A panicking hook is logged and
/// ignored.
///
/// A call that is valid and reaches dispatch gets exactly one
/// `call_started` and then exactly one of `call_completed`, `call_failed`
/// or `call_cancelled`.
///
/// ```
/// use std::sync::atomic::{AtomicU64, Ordering};
/// use std::time::Duration;
/// use rpc_core::{Call, ErrorCode, Hooks};
///
/// #[derive(Default)]
/// struct Metrics {
///     ok: AtomicU64,
///     failed: AtomicU64,
/// }
///
/// impl Hooks for Metrics {
///     fn call_completed(&self, _call: &Call<'_>, _elapsed: Duration) {
///         self.ok.fetch_add(1, Ordering::Relaxed);
///     }
///     fn call_failed(&self, _call: &Call<'_>, _code: ErrorCode, _elapsed: Duration) {
///         self.failed.fetch_add(1, Ordering::Relaxed);
///     }
/// }
/// ```
pub trait Hooks: Send + Sync + 'static {
    /// A call is about to run.
    fn call_started(&self, call: &Call<'_>) {
        let _ = call;
    }

    /// A call finished with a result (for a notification, without error).
    fn call_completed(&self, call: &Call<'_>, elapsed: Duration) {
        let _ = (call, elapsed);
    }

    /// A call finished with an error.
    fn call_failed(&self, call: &Call<'_>, code: ErrorCode, elapsed: Duration) {
        let _ = (call, code, elapsed);
    }

    /// A call was dropped before it finished, and got no reply: its
    /// connection closed while it ran, or the server cut it when shutdown's
    /// drain timeout passed. (Without this, an in-flight gauge kept by
    /// `call_started` and the two above would stay raised for it.)
    fn call_cancelled(&self, call: &Call<'_>, elapsed: Duration) {
        let _ = (call, elapsed);
    }

    /// A client connected (after its handshake was accepted).
    fn client_connected(&self, connection: &ConnectionInfo) {
        let _ = connection;
    }

    /// A client's connection ended.
    fn client_disconnected(&self, connection: &ConnectionInfo, reason: DisconnectReason) {
        let _ = (connection, reason);
    }

    /// The group backend shared with other instances (`rpc-redis`) lost or
    /// regained its broker, or could not deliver messages: a cue to tell
    /// clients to resync what they may have missed.
    fn group_backend(&self, event: &BackendEvent) {
        let _ = event;
    }
}

/// What a group backend shared by several instances reports to the
/// [`Hooks`] of each server using it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum BackendEvent {
    /// The broker is unreachable: local delivery goes on, messages for other
    /// instances are kept (up to a bound) until it is back.
    Down {
        /// Why, as the backend's client said it (no credentials).
        reason: String,
    },
    /// The broker is reachable again; subscriptions and memberships are
    /// restored, and messages kept meanwhile are sent.
    Up,
    /// Messages were lost: `messages` of them will not reach some or all of
    /// their recipients.
    Dropped {
        /// How many.
        messages: u64,
        /// Where they were lost.
        cause: DropCause,
    },
}

/// Where a group backend lost messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DropCause {
    /// Sent by this instance past the bound of messages waiting for the
    /// broker (while it was unreachable, or slower than the broadcasts), or
    /// after the backend stopped: no other instance gets them.
    OutboxFull,
    /// Sent by another instance but never received here (seen as a gap in
    /// that sender's sequence): this instance's members missed them.
    NotReceived,
}

impl fmt::Display for DropCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::OutboxFull => "outbox full (or backend stopped)",
            Self::NotReceived => "sent by another instance, not received here",
        })
    }
}

/// Why a connection ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DisconnectReason {
    /// The client closed it, or it broke.
    ClientClosed,
    /// The server is shutting down.
    ServerShutdown,
    /// It reached the maximum connection age.
    MaxAge,
    /// It sent nothing for the idle timeout.
    Idle,
    /// It left keepalive pings unanswered.
    Unresponsive,
    /// It sent a message beyond the hard frame cap.
    TooLarge,
    /// It sent a text frame that is not UTF-8.
    InvalidUtf8,
    /// It broke the WebSocket protocol.
    ProtocolViolation,
    /// It did not drain the messages pushed to it (group broadcasts,
    /// notifications) and its queue reached `max_queued_bytes`; or the
    /// server's outgoing bytes reached `max_outgoing_bytes` and it was
    /// among the connections holding the most. Closed with 1008.
    TooSlow,
    /// A message it started sending did not arrive within the message
    /// timeout.
    SlowMessage,
}

impl fmt::Display for DisconnectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::ClientClosed => "the client closed the connection",
            Self::ServerShutdown => "server shutting down",
            Self::MaxAge => "maximum connection age reached",
            Self::Idle => "idle timeout",
            Self::Unresponsive => "keepalive pings unanswered",
            Self::TooLarge => "message too large",
            Self::InvalidUtf8 => "text frame is not valid UTF-8",
            Self::ProtocolViolation => "WebSocket protocol violation",
            Self::TooSlow => "too slow to keep up",
            Self::SlowMessage => "message did not arrive in time",
        })
    }
}
