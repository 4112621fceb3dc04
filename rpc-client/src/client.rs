//! The client handle: calls, notifications, batches, state.

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};

use futures_util::future::join_all;
use rpc_core::{
    CallError, CallOutcome, PendingCall, PendingCalls, Protocol, Response, Service, params_json,
    request_frame,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};

use crate::builder::ClientBuilder;
use crate::error::ConnectError;

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
    /// Closed for good (by [`Client::close`], or reconnecting gave up).
    Closed,
}

/// A JSON-RPC client over one WebSocket connection (re-established when it
/// drops, unless configured not to). Cheap to clone; clones share the
/// connection.
///
/// ```no_run
/// use rpc_client::Client;
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let client = Client::connect("ws://127.0.0.1:9000").await?;
/// let difference: i64 = client.call("subtract", (42, 23)).await?;
/// let quotient: f64 = client.call("math.divide", serde_json::json!({"a": 1, "b": 4})).await?;
/// client.notify("log", ["hello"]).await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Client {
    pub(crate) shared: Arc<Shared>,
}

/// What the client handle and its connection task share.
pub(crate) struct Shared {
    pub(crate) settings: crate::builder::Settings,
    /// Calls waiting for their responses.
    pending: PendingCalls,
    /// The current connection's outgoing queue; `None` while disconnected.
    outgoing: Mutex<Option<mpsc::Sender<Message>>>,
    pub(crate) state: watch::Sender<ConnectionState>,
    /// Set by [`Client::close`].
    pub(crate) closing: watch::Sender<bool>,
    /// Runs the server's calls and notifications to this client.
    pub(crate) protocol: Protocol,
    pub(crate) service: Arc<dyn Service>,
    /// Open subscriptions, by the server's ids.
    pub(crate) subscriptions: crate::subscriptions::Subscriptions,
    /// The streams of `notifications()`.
    pub(crate) listeners: Arc<crate::notifications::Listeners>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Shared {
    pub(crate) fn new(
        settings: crate::builder::Settings,
        service: Arc<dyn Service>,
        listeners: Arc<crate::notifications::Listeners>,
    ) -> Self {
        Self {
            pending: PendingCalls::new(settings.max_pending_requests),
            settings,
            outgoing: Mutex::default(),
            state: watch::Sender::new(ConnectionState::Connecting),
            closing: watch::Sender::new(false),
            protocol: Protocol::new(),
            service,
            subscriptions: crate::subscriptions::Subscriptions::default(),
            listeners,
        }
    }

    pub(crate) fn attach(&self, outgoing: mpsc::Sender<Message>) {
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

    fn sender(&self) -> Result<mpsc::Sender<Message>, CallError> {
        lock(&self.outgoing).clone().ok_or(CallError::Closed)
    }

    /// When a call made now times out: the request timeout covers the
    /// whole call, waiting for room to send it included.
    fn deadline(&self) -> Instant {
        Instant::now() + self.settings.request_timeout
    }

    /// Queues a frame for the server, waiting for room until `deadline`.
    async fn send(&self, frame: String, deadline: Instant) -> Result<(), CallError> {
        let sender = self.sender()?;
        let message = Message::Text(Utf8Bytes::from(frame));
        match tokio::time::timeout_at(deadline, sender.send(message)).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) => Err(CallError::Closed),
            Err(_) => Err(CallError::Timeout(self.settings.request_timeout)),
        }
    }

    /// Waits for a registered call until `deadline`.
    async fn wait(&self, id: u64, pending: PendingCall, deadline: Instant) -> CallOutcome {
        match tokio::time::timeout_at(deadline, pending).await {
            Ok(outcome) => outcome,
            Err(_) => {
                self.pending.forget(id);
                Err(CallError::Timeout(self.settings.request_timeout))
            }
        }
    }
}

impl Client {
    /// Connects to `url` (`ws://…`) with the default settings.
    pub async fn connect(url: &str) -> Result<Self, ConnectError> {
        Self::builder(url).connect().await
    }

    /// A builder for every setting.
    pub fn builder(url: &str) -> ClientBuilder {
        ClientBuilder::new(url)
    }

    /// Calls `method` and decodes its result. `params` must serialize to an
    /// array (by position) or an object (by name); `()` sends none.
    ///
    /// Fails at once with [`CallError::Closed`] while disconnected and with
    /// [`CallError::Overloaded`] when too many calls are waiting; with
    /// [`CallError::Timeout`] after the request timeout; with
    /// [`CallError::Remote`] when the server answered with an error.
    pub async fn call<R: DeserializeOwned>(
        &self,
        method: &str,
        params: impl Serialize,
    ) -> Result<R, CallError> {
        let raw = self.call_raw(method, params_json(&params)?).await?;
        serde_json::from_str(raw.get()).map_err(|err| CallError::Codec(err.to_string()))
    }

    /// Calls `method` with already serialized params and returns the raw
    /// result.
    pub async fn call_raw(
        &self,
        method: &str,
        params: Option<Box<RawValue>>,
    ) -> Result<Box<RawValue>, CallError> {
        let shared = &self.shared;
        let deadline = shared.deadline();
        shared.sender()?;
        let (id, rx) = shared.pending.register()?;
        let frame = request_frame(method, params.as_deref(), Some(id));
        if let Err(err) = shared.send(frame, deadline).await {
            shared.pending.forget(id);
            return Err(err);
        }
        shared.wait(id, rx, deadline).await
    }

    /// Sends a notification (no response).
    pub async fn notify(&self, method: &str, params: impl Serialize) -> Result<(), CallError> {
        let frame = request_frame(method, params_json(&params)?.as_deref(), None);
        self.send_frame(frame).await
    }

    /// Sends every request of `batch` in one frame; returns each call's
    /// outcome in order (notifications have none).
    pub async fn batch(
        &self,
        batch: Batch,
    ) -> Result<Vec<Result<Box<RawValue>, CallError>>, CallError> {
        let shared = &self.shared;
        let deadline = shared.deadline();
        shared.sender()?;
        let mut frames = Vec::with_capacity(batch.entries.len());
        let mut waits = Vec::new();
        for entry in batch.entries {
            let id = if entry.notification {
                None
            } else {
                let (id, rx) = match shared.pending.register() {
                    Ok(registered) => registered,
                    Err(err) => {
                        waits.iter().for_each(|(id, _)| shared.pending.forget(*id));
                        return Err(err);
                    }
                };
                waits.push((id, rx));
                Some(id)
            };
            frames.push(request_frame(&entry.method, entry.params.as_deref(), id));
        }
        let frame = format!("[{}]", frames.join(","));
        if let Err(err) = shared.send(frame, deadline).await {
            waits.iter().for_each(|(id, _)| shared.pending.forget(*id));
            return Err(err);
        }
        let waiting = waits
            .into_iter()
            .map(|(id, rx)| shared.wait(id, rx, deadline));
        Ok(join_all(waiting).await)
    }

    /// Queues a frame if there is room now; dropped otherwise.
    pub(crate) fn try_send_frame(&self, frame: String) {
        if let Ok(sender) = self.shared.sender() {
            let _ = sender.try_send(Message::Text(Utf8Bytes::from(frame)));
        }
    }

    /// Every notification from the server that no handler, served method
    /// or subscription takes, from now on, as a stream (one per call; each
    /// holds up to [`NOTIFICATIONS_BUFFER`](crate::NOTIFICATIONS_BUFFER)
    /// for its reader, past which new ones are dropped for it).
    pub fn notifications(&self) -> crate::Notifications {
        self.shared.listeners.listen()
    }

    pub(crate) async fn send_raw(&self, frame: String) -> Result<(), CallError> {
        self.send_frame(frame).await
    }

    /// Sends a frame that expects no answer; waiting for room is bounded by
    /// the request timeout.
    async fn send_frame(&self, frame: String) -> Result<(), CallError> {
        let shared = &self.shared;
        shared.send(frame, shared.deadline()).await
    }

    /// The connection's state now.
    pub fn state(&self) -> ConnectionState {
        *self.shared.state.borrow()
    }

    /// Watches the connection's state.
    pub fn watch_state(&self) -> watch::Receiver<ConnectionState> {
        self.shared.state.subscribe()
    }

    /// Closes the connection for good (no reconnect); waiting calls fail.
    pub async fn close(&self) {
        self.shared.closing.send_replace(true);
        let mut state = self.watch_state();
        let _ = state
            .wait_for(|state| *state == ConnectionState::Closed)
            .await;
    }
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("url", &self.shared.settings.url)
            .field("state", &self.state())
            .finish_non_exhaustive()
    }
}

/// Several requests sent in one frame with [`Client::batch`].
#[derive(Debug, Default)]
pub struct Batch {
    entries: Vec<BatchEntry>,
}

#[derive(Debug)]
struct BatchEntry {
    method: String,
    params: Option<Box<RawValue>>,
    notification: bool,
}

impl Batch {
    /// An empty batch.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a call.
    pub fn call(mut self, method: &str, params: impl Serialize) -> Result<Self, CallError> {
        self.entries.push(BatchEntry {
            method: method.to_owned(),
            params: params_json(&params)?,
            notification: false,
        });
        Ok(self)
    }

    /// Adds a notification.
    pub fn notify(mut self, method: &str, params: impl Serialize) -> Result<Self, CallError> {
        self.entries.push(BatchEntry {
            method: method.to_owned(),
            params: params_json(&params)?,
            notification: true,
        });
        Ok(self)
    }
}
