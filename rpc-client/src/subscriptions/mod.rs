//! Subscriptions from the client's side: each server notification of one
//! (`{"subscription": id, "result": item}`) goes to its [`Subscription`]
//! stream; dropping the stream unsubscribes; after a reconnect every open
//! subscription is opened again, and its stream told that items may have
//! been missed. The bookkeeping is `registry`'s; the calls to the server
//! are made here.

pub(crate) mod registry;

use std::fmt;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_util::Stream;
use rpc_core::calls::request_frame;
use rpc_core::{CallError, ErrorCode, RpcError};
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;
use tokio::sync::mpsc;

use crate::client::Client;
use registry::Event;
pub use registry::SUBSCRIPTION_BUFFER;

/// Why a subscription's stream yields an error instead of an item.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum SubscriptionError {
    /// Items may have been missed: the server dropped `Some(n)` for a slow
    /// reader (or this stream's buffer was full), or the connection dropped
    /// and the subscription was opened again (`None`: how many is unknown;
    /// for a subscription whose items carry positions, only when the server
    /// said it could not send what was missed, `"recovered": false`).
    Missed(Option<u64>),
    /// An item did not decode as the stream's type.
    Decode(String),
    /// After a reconnect the subscription could not be opened again; the
    /// stream ends.
    Resubscribe(CallError),
}

impl fmt::Display for SubscriptionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Missed(Some(count)) => write!(f, "{count} items were missed"),
            Self::Missed(None) => f.write_str("items may have been missed while reconnecting"),
            Self::Decode(detail) => write!(f, "an item did not decode: {detail}"),
            Self::Resubscribe(err) => write!(f, "could not subscribe again: {err}"),
        }
    }
}

impl std::error::Error for SubscriptionError {}

/// Attempts to reopen one subscription that the server refuses for a
/// passing reason (rate limited, overloaded) before its stream ends.
const REOPEN_ATTEMPTS: u32 = 8;

/// The wait before attempt `attempt` + 1 after a passing refusal: what the
/// server asks (`retry_after_ms`), else 100 ms doubling, at most 5 s.
fn reopen_delay(error: &RpcError, attempt: u32) -> Duration {
    let asked = error
        .data()
        .and_then(|data| serde_json::from_str::<serde_json::Value>(data.get()).ok())
        .and_then(|data| data.get("retry_after_ms")?.as_u64())
        .map(Duration::from_millis);
    let backoff = Duration::from_millis(100).saturating_mul(1 << attempt.min(6));
    asked.unwrap_or(backoff).min(Duration::from_secs(5))
}

/// Whether the server refused for a reason that passes.
fn passing(outcome: &Result<Box<RawValue>, CallError>) -> Option<&RpcError> {
    match outcome {
        Err(CallError::Remote(error))
            if [ErrorCode::RATE_LIMITED, ErrorCode::SERVER_OVERLOADED].contains(&error.code()) =>
        {
            Some(error)
        }
        _ => None,
    }
}

/// On connection `generation`: opens again every subscription of an
/// earlier connection, and tells its stream that items may have been
/// missed. A refusal that passes (rate limited, overloaded) is tried again,
/// as the server asks; a subscription that cannot be opened again for
/// another reason ends; one whose call the connection's end interrupted
/// waits for the next.
pub(crate) async fn reopen_all(client: &Client, generation: u64) {
    let subscriptions = &client.state.subscriptions;
    for stale in subscriptions.stale(generation) {
        // Counted as under way until its new id is registered: the items
        // sent right behind the reply (what was missed) wait for it.
        let opening = subscriptions.opening();
        let mut outcome = client.call_raw(&stale.method, stale.params.clone()).await;
        for attempt in 0..REOPEN_ATTEMPTS {
            let Some(error) = passing(&outcome) else {
                break;
            };
            tokio::time::sleep(reopen_delay(error, attempt)).await;
            if !subscriptions.is_current(generation) {
                return;
            }
            outcome = client.call_raw(&stale.method, stale.params.clone()).await;
        }
        let mut recovered = true;
        if let (Err(CallError::Remote(error)), Some(plain)) = (&outcome, &stale.without_since)
            && error.code() == ErrorCode::INVALID_PARAMS
        {
            // A method that sends positions but takes no `since`: opened
            // as it was first, and told that items may have been missed.
            outcome = client.call_raw(&stale.method, plain.clone()).await;
            recovered = false;
        }
        if !subscriptions.is_current(generation) {
            // Another connection already: its own pass reopens them.
            return;
        }
        let unwanted = subscriptions.reopened(&stale, generation, outcome, recovered);
        drop(opening);
        if let Some((method, params)) = unwanted {
            unsubscribe_quietly(client, method, params);
        }
    }
}

/// Ends a subscription on the server without waiting for the answer: as a
/// call (some servers, jsonrpsee among them, ignore notifications) on a
/// task of its own, or, outside a runtime, as a notification.
fn unsubscribe_quietly(client: &Client, method: String, params: Box<RawValue>) {
    match tokio::runtime::Handle::try_current() {
        Ok(runtime) => {
            let client = client.clone();
            runtime.spawn(async move {
                let _ = client.call_raw(&method, Some(params)).await;
            });
        }
        Err(_) => client.try_send_frame(request_frame(&method, Some(&params), None)),
    }
}

/// A subscription's items, decoded as `T`, as a stream: from
/// [`Client::subscribe`] or a `#[rpc_client]` subscription method.
///
/// An error in the stream says that items may have been missed (the
/// server dropped some for a slow reader, or the connection dropped and the
/// subscription was opened again), or that one did not decode. The stream
/// ends when the client closes for good, or when the subscription could not
/// be opened again after a reconnect. Dropping it unsubscribes.
pub struct Subscription<T> {
    key: u64,
    client: Client,
    events: mpsc::Receiver<Event>,
    item: PhantomData<fn() -> T>,
}

impl<T> Subscription<T> {
    /// The server's id for it now (it changes when the subscription is
    /// opened again after a reconnect), as JSON text: `"8d0f…"` or `42`.
    pub fn id(&self) -> Option<String> {
        self.client
            .state
            .subscriptions
            .id(self.key)
            .map(String::from)
    }

    /// Ends the subscription and waits for the server's answer: whether it
    /// was open there.
    pub async fn unsubscribe(self) -> Result<bool, CallError> {
        // Closed here, so the drop that follows finds nothing to end.
        let subscriptions = &self.client.state.subscriptions;
        let Some((method, params)) = subscriptions.close(self.key) else {
            return Ok(false);
        };
        let answer = self.client.call_raw(&method, Some(params)).await?;
        serde_json::from_str(answer.get()).map_err(|err| CallError::Codec(err.to_string()))
    }
}

impl<T: DeserializeOwned> Stream for Subscription<T> {
    type Item = Result<T, SubscriptionError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let event = std::task::ready!(self.events.poll_recv(cx));
        Poll::Ready(event.map(|event| {
            match event {
                Event::Item(raw) => serde_json::from_str(raw.get())
                    .map_err(|err| SubscriptionError::Decode(err.to_string())),
                Event::Missed(count) => Err(SubscriptionError::Missed(count)),
                Event::Failed(err) => Err(SubscriptionError::Resubscribe(err)),
            }
        }))
    }
}

impl<T> Drop for Subscription<T> {
    fn drop(&mut self) {
        if let Some((method, params)) = self.client.state.subscriptions.close(self.key) {
            // Nothing to wait for in a drop; a client that is disconnected
            // has nothing to end on the server.
            unsubscribe_quietly(&self.client, method, params);
        }
    }
}

impl<T> fmt::Debug for Subscription<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Subscription")
            .field("id", &self.id())
            .finish_non_exhaustive()
    }
}

impl Client {
    /// Calls `method` (a subscription method: it answers with an id), and
    /// returns the stream of its items, decoded as `T`. Dropping the stream
    /// calls `unsubscribe` with the id. After a reconnect, the subscription
    /// is opened again by itself (the stream yields
    /// [`SubscriptionError::Missed`]`(None)` first, unless its items carry
    /// positions: then it reopens with `since` and the server sends what
    /// was missed).
    ///
    /// ```no_run
    /// use futures_util::StreamExt as _;
    /// use rpc_client::Client;
    ///
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// let client = Client::connect("ws://127.0.0.1:9008").await?;
    /// let mut counter = client
    ///     .subscribe::<u64>("subscribe_counter", (1, 100), "unsubscribe_counter")
    ///     .await?;
    /// while let Some(n) = counter.next().await {
    ///     println!("{}", n?);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn subscribe<T: DeserializeOwned>(
        &self,
        method: &str,
        params: impl serde::Serialize,
        unsubscribe: &str,
    ) -> Result<Subscription<T>, CallError> {
        let params = rpc_core::calls::params_json(&params)?;
        let subscriptions = &self.state.subscriptions;
        let _opening = subscriptions.opening();
        let id = self.call_raw(method, params.clone()).await?;
        let (key, events) = subscriptions.open(id.get().into(), method, params, unsubscribe);
        Ok(Subscription {
            key,
            client: self.clone(),
            events,
            item: PhantomData,
        })
    }
}
