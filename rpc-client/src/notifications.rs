//! [`Client::notifications`](crate::Client::notifications): every
//! notification from the server that no handler, served method or
//! subscription took, as a stream.

use std::pin::Pin;
use std::sync::{Mutex, MutexGuard};
use std::task::{Context, Poll};

use futures_util::Stream;
use rpc_core::{CallError, Params};
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;
use tokio::sync::mpsc;

/// How many notifications a stream holds for its reader; past that, new
/// ones are dropped for it (and logged at debug).
pub const NOTIFICATIONS_BUFFER: usize = 1024;

/// A notification from the server.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Notification {
    /// Its method.
    pub method: String,
    /// Its params, as raw JSON; `None` when it had none.
    pub params: Option<Box<RawValue>>,
}

impl Notification {
    /// Its params decoded as `T` (a tuple for an array, a struct for an
    /// object).
    pub fn params<T: DeserializeOwned>(&self) -> Result<T, CallError> {
        let raw = self.params.as_deref().map_or("null", RawValue::get);
        serde_json::from_str(raw).map_err(|err| CallError::Codec(err.to_string()))
    }
}

/// The streams handed out by `notifications()`.
#[derive(Default)]
pub(crate) struct Listeners {
    senders: Mutex<Senders>,
}

#[derive(Default)]
struct Senders {
    open: Vec<mpsc::Sender<Notification>>,
    /// Set when the client is closed for good: new streams end at once.
    closed: bool,
}

impl Listeners {
    fn senders(&self) -> MutexGuard<'_, Senders> {
        self.senders
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(crate) fn listen(&self) -> Notifications {
        let (sender, receiver) = mpsc::channel(NOTIFICATIONS_BUFFER);
        let mut senders = self.senders();
        if !senders.closed {
            senders.open.push(sender);
        }
        Notifications { receiver }
    }

    /// The client is closed for good: every stream ends.
    pub(crate) fn close(&self) {
        let mut senders = self.senders();
        senders.closed = true;
        senders.open.clear();
    }

    /// Hands a notification to every stream; false if there is none.
    pub(crate) fn deliver(&self, method: &str, params: Params<'_>) -> bool {
        let mut senders = self.senders();
        let senders = &mut senders.open;
        senders.retain(|sender| !sender.is_closed());
        if senders.is_empty() {
            return false;
        }
        let notification = Notification {
            method: method.to_owned(),
            params: params.raw().map(ToOwned::to_owned),
        };
        for sender in senders.iter() {
            if sender.try_send(notification.clone()).is_err() {
                tracing::debug!(method, "a notification stream is full: dropped for it");
            }
        }
        true
    }
}

/// Every notification from the server that no handler, served method or
/// subscription took, from the moment it was made. Ends when the client
/// is dropped or closed for good.
#[derive(Debug)]
pub struct Notifications {
    receiver: mpsc::Receiver<Notification>,
}

impl Stream for Notifications {
    type Item = Notification;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Notification>> {
        self.receiver.poll_recv(cx)
    }
}
