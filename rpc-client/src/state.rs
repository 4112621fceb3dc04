//! What a client's handle and its connection task share: the settings, the
//! calls waiting for answers, the current connection's queue, where the
//! connection stands, the subscriptions and notification streams.

use std::sync::{Arc, Mutex, MutexGuard};

use rpc_core::calls::{CallOutcome, PendingCall, PendingCalls, Response};
use rpc_core::{CallError, Protocol, Service};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};

use crate::notifications::Listeners;
use crate::settings::Settings;
use crate::subscriptions::registry::Subscriptions;

/// Where the client's connection stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConnectionState {
    /// The first connection is being set up.
    Connecting,
    /// Connected: calls go out.
    Connected,
    /// The connection dropped; waiting before reconnect attempt `attempt`
    /// (from 0). Calls fail at once with [`CallError::Closed`].
    Reconnecting {
        /// Which attempt comes next.
        attempt: u32,
    },
    /// Closed for good (by [`Client::close`](crate::Client::close), or reconnecting gave up).
    Closed,
}

/// A message for the connection's writer, and who waits to hear it was
/// written.
pub(crate) struct Outgoing {
    pub(crate) message: Message,
    pub(crate) written: Option<oneshot::Sender<()>>,
}

impl From<Message> for Outgoing {
    fn from(message: Message) -> Self {
        Self {
            message,
            written: None,
        }
    }
}

/// What the client handle and its connection task share.
pub(crate) struct ClientState {
    pub(crate) settings: Settings,
    /// Calls waiting for their responses.
    pub(crate) pending: PendingCalls,
    /// The current connection's outgoing queue; `None` while disconnected.
    outgoing: Mutex<Option<mpsc::Sender<Outgoing>>>,
    /// Where the connection stands, for `Client::state` and its watchers.
    pub(crate) connection: watch::Sender<ConnectionState>,
    /// Set by [`Client::close`].
    pub(crate) closing: watch::Sender<bool>,
    /// Runs the server's calls and notifications to this client.
    pub(crate) protocol: Protocol,
    pub(crate) service: Arc<dyn Service>,
    /// Open subscriptions, by the server's ids.
    pub(crate) subscriptions: Subscriptions,
    /// The streams of `notifications()`.
    pub(crate) listeners: Arc<Listeners>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl ClientState {
    pub(crate) fn new(
        settings: Settings,
        service: Arc<dyn Service>,
        listeners: Arc<Listeners>,
    ) -> Self {
        Self {
            pending: PendingCalls::new(settings.max_pending_requests),
            settings,
            outgoing: Mutex::default(),
            connection: watch::Sender::new(ConnectionState::Connecting),
            closing: watch::Sender::new(false),
            protocol: Protocol::new(),
            service,
            subscriptions: Subscriptions::default(),
            listeners,
        }
    }

    pub(crate) fn attach(&self, outgoing: mpsc::Sender<Outgoing>) {
        *lock(&self.outgoing) = Some(outgoing);
    }

    /// The connection is gone: new calls fail, and waiting ones fail now.
    pub(crate) fn detach(&self) {
        *lock(&self.outgoing) = None;
        self.pending.fail_all();
    }

    pub(crate) fn resolve(&self, response: Response<'_>) -> bool {
        self.pending.resolve(response)
    }

    pub(crate) fn expects_responses(&self) -> bool {
        !self.pending.is_empty()
    }

    pub(crate) fn sender(&self) -> Result<mpsc::Sender<Outgoing>, CallError> {
        lock(&self.outgoing).clone().ok_or(CallError::Closed)
    }

    /// When a call made now times out: the request timeout covers the
    /// whole call, waiting for room to send it included.
    pub(crate) fn deadline(&self) -> Instant {
        Instant::now() + self.settings.request_timeout
    }

    /// Queues a frame for the server, waiting for room until `deadline`.
    pub(crate) async fn send(&self, frame: String, deadline: Instant) -> Result<(), CallError> {
        let sender = self.sender()?;
        let message = Outgoing::from(Message::Text(Utf8Bytes::from(frame)));
        match tokio::time::timeout_at(deadline, sender.send(message)).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) => Err(CallError::Closed),
            Err(_) => Err(CallError::Timeout(self.settings.request_timeout)),
        }
    }

    /// Sends a frame that gets no answer (notifications): returns once it
    /// has been written to the socket, so that a program that ends right
    /// after does not lose it; waiting is bounded by `deadline`.
    pub(crate) async fn send_written(
        &self,
        frame: String,
        deadline: Instant,
    ) -> Result<(), CallError> {
        let sender = self.sender()?;
        let (written, written_rx) = oneshot::channel();
        let message = Outgoing {
            message: Message::Text(Utf8Bytes::from(frame)),
            written: Some(written),
        };
        let sent = async {
            sender.send(message).await.map_err(|_| CallError::Closed)?;
            // Dropped unwritten: the connection broke first.
            written_rx.await.map_err(|_| CallError::Closed)
        };
        match tokio::time::timeout_at(deadline, sent).await {
            Ok(outcome) => outcome,
            Err(_) => Err(CallError::Timeout(self.settings.request_timeout)),
        }
    }

    /// Waits for a registered call until `deadline`.
    pub(crate) async fn wait(
        &self,
        id: u64,
        pending: PendingCall,
        deadline: Instant,
    ) -> CallOutcome {
        match tokio::time::timeout_at(deadline, pending).await {
            Ok(outcome) => outcome,
            Err(_) => {
                self.pending.forget(id);
                Err(CallError::Timeout(self.settings.request_timeout))
            }
        }
    }
}
