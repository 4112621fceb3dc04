//! The client handle: calls, notifications, batches, state.

use std::fmt;
use std::sync::Arc;

use futures_util::future::join_all;
use rpc_core::CallError;
use rpc_core::calls::{params_json, request_frame};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};

use crate::state::{ClientState, ConnectionState};

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
    pub(crate) state: Arc<ClientState>,
}

impl Client {
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
        let state = &self.state;
        let deadline = state.deadline();
        state.sender()?;
        let (id, rx) = state.pending.register()?;
        let frame = request_frame(method, params.as_deref(), Some(id));
        if let Err(err) = state.send(frame, deadline).await {
            state.pending.forget(id);
            return Err(err);
        }
        state.wait(id, rx, deadline).await
    }

    /// Sends a notification (no response). Returns once the frame has been
    /// written to the socket (not merely queued), so a program that ends
    /// right after loses nothing; the server may still be reading it. A
    /// batch of notifications only ([`batch`](Self::batch)) returns the
    /// same way.
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
        let state = &self.state;
        let deadline = state.deadline();
        state.sender()?;
        let mut frames = Vec::with_capacity(batch.entries.len());
        let mut waits = Vec::new();
        for entry in batch.entries {
            let id = if entry.notification {
                None
            } else {
                let (id, rx) = match state.pending.register() {
                    Ok(registered) => registered,
                    Err(err) => {
                        waits.iter().for_each(|(id, _)| state.pending.forget(*id));
                        return Err(err);
                    }
                };
                waits.push((id, rx));
                Some(id)
            };
            frames.push(request_frame(&entry.method, entry.params.as_deref(), id));
        }
        let frame = format!("[{}]", frames.join(","));
        // A batch of notifications only: returns once it is written, as
        // `notify` does.
        let sent = if waits.is_empty() {
            state.send_written(frame, deadline).await
        } else {
            state.send(frame, deadline).await
        };
        if let Err(err) = sent {
            waits.iter().for_each(|(id, _)| state.pending.forget(*id));
            return Err(err);
        }
        let waiting = waits
            .into_iter()
            .map(|(id, rx)| state.wait(id, rx, deadline));
        Ok(join_all(waiting).await)
    }

    /// Queues a frame if there is room now; dropped otherwise.
    pub(crate) fn try_send_frame(&self, frame: String) {
        if let Ok(sender) = self.state.sender() {
            let _ = sender.try_send(Message::Text(Utf8Bytes::from(frame)).into());
        }
    }

    /// Every notification from the server that no handler, served method
    /// or subscription takes, from now on, as a stream (one per call; each
    /// holds up to [`NOTIFICATIONS_BUFFER`](crate::NOTIFICATIONS_BUFFER)
    /// for its reader, past which new ones are dropped for it).
    pub fn notifications(&self) -> crate::Notifications {
        self.state.listeners.listen()
    }

    pub(crate) async fn send_raw(&self, frame: String) -> Result<(), CallError> {
        self.send_frame(frame).await
    }

    /// Sends a frame that expects no answer, and returns once it is written
    /// to the socket; waiting is bounded by the request timeout.
    async fn send_frame(&self, frame: String) -> Result<(), CallError> {
        let state = &self.state;
        state.send_written(frame, state.deadline()).await
    }

    /// The connection's state now.
    pub fn state(&self) -> ConnectionState {
        *self.state.connection.borrow()
    }

    /// Watches the connection's state.
    pub fn watch_state(&self) -> watch::Receiver<ConnectionState> {
        self.state.connection.subscribe()
    }

    /// Closes the connection for good (no reconnect); waiting calls fail.
    pub async fn close(&self) {
        self.state.closing.send_replace(true);
        let mut state = self.watch_state();
        let _ = state
            .wait_for(|state| *state == ConnectionState::Closed)
            .await;
    }
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("urls", &self.state.settings.urls)
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
