//! Subscriptions from the client's side: each server notification of one
//! (`{"subscription": id, "result": item}`) goes to its [`Subscription`]
//! stream; dropping the stream unsubscribes; after a reconnect every open
//! subscription is opened again, and its stream told that items may have
//! been missed.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::task::{Context, Poll};

use futures_util::Stream;
use rpc_core::{CallError, request_frame};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;
use tokio::sync::mpsc;

use crate::client::Client;

/// How many items a subscription holds for its reader; past that, items
/// are dropped and the stream says how many it missed.
pub const SUBSCRIPTION_BUFFER: usize = 1024;

/// Items that arrive before their subscription is known (the server sends
/// them right behind the reply), held for it while a subscribe call is under
/// way: up to this many bytes in all.
const EARLY_BYTES: usize = 1024 * 1024;

/// Why a subscription's stream yields an error instead of an item.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum SubscriptionError {
    /// Items may have been missed: the server dropped `Some(n)` for a slow
    /// reader (or this stream's buffer was full), or the connection dropped
    /// and the subscription was opened again (`None`: how many is unknown).
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

/// What a subscription's stream receives.
enum Event {
    Item(Box<RawValue>),
    Missed(Option<u64>),
    Failed(CallError),
}

/// The open subscriptions of a client.
#[derive(Default)]
pub(crate) struct Subscriptions {
    table: Mutex<Table>,
    /// Whether any is open: checked before looking into each message.
    any: AtomicBool,
    /// Subscribe calls under way: their first items may arrive before
    /// their reply has been handed to the caller.
    opening: AtomicUsize,
    /// Counts the connections: a subscription belongs to the one it was
    /// opened on, and is opened again on each later one.
    generation: AtomicU64,
}

/// Counts a subscribe call as under way while it lives.
struct Opening<'a>(&'a AtomicUsize);

impl<'a> Opening<'a> {
    fn new(opening: &'a AtomicUsize) -> Self {
        opening.fetch_add(1, Ordering::AcqRel);
        Self(opening)
    }
}

impl Drop for Opening<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

#[derive(Default)]
struct Table {
    next_key: u64,
    /// By the key their stream holds.
    open: HashMap<u64, Open>,
    /// Keys by the server's id for them (its raw JSON).
    by_id: HashMap<Box<str>, u64>,
    early: VecDeque<(Box<str>, Event)>,
    early_bytes: usize,
    /// Set when the client is closed for good: nothing more opens.
    closed: bool,
}

struct Open {
    /// The server's id, as raw JSON (a string or a number).
    id: Box<str>,
    method: String,
    params: Option<Box<RawValue>>,
    unsubscribe: String,
    events: mpsc::Sender<Event>,
    /// Items dropped since the last one delivered.
    missed: u64,
    /// The connection it is open on.
    generation: u64,
}

impl Open {
    fn send(&mut self, event: Event) {
        if self.missed > 0 {
            match self.events.try_send(Event::Missed(Some(self.missed))) {
                Ok(()) => self.missed = 0,
                Err(_) => {
                    self.missed += 1;
                    return;
                }
            }
        }
        if self.events.try_send(event).is_err() {
            self.missed += 1;
        }
    }
}

/// One notification of a subscription, as it arrives.
#[derive(Deserialize)]
struct ItemNotification<'a> {
    #[serde(borrow)]
    params: ItemParams<'a>,
    /// A call, not a notification, when present.
    id: Option<serde::de::IgnoredAny>,
}

#[derive(Deserialize)]
struct ItemParams<'a> {
    #[serde(borrow)]
    subscription: &'a RawValue,
    #[serde(borrow)]
    result: Option<&'a RawValue>,
    dropped: Option<u64>,
}

impl Subscriptions {
    fn table(&self) -> MutexGuard<'_, Table> {
        self.table
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Takes `text` if it is an item of a subscription (or one opened this
    /// moment); false if it is something else.
    pub(crate) fn deliver(&self, text: &str) -> bool {
        if !self.any.load(Ordering::Acquire) && self.opening.load(Ordering::Acquire) == 0 {
            return false;
        }
        let Ok(notification) = serde_json::from_str::<ItemNotification<'_>>(text) else {
            return false;
        };
        if notification.id.is_some() {
            return false;
        }
        let params = notification.params;
        let event = match (params.result, params.dropped) {
            (Some(item), _) => Event::Item(item.to_owned()),
            (None, Some(dropped)) => Event::Missed(Some(dropped)),
            (None, None) => return false,
        };
        let id = params.subscription.get();
        let mut table = self.table();
        let table = &mut *table;
        if let Some(open) = table.by_id.get(id).and_then(|key| table.open.get_mut(key)) {
            open.send(event);
            return true;
        }
        if self.opening.load(Ordering::Acquire) == 0 {
            // Nobody is subscribing: not an item of ours (one of a
            // subscription just ended, say).
            return false;
        }
        let size = event_size(&event);
        while table.early_bytes + size > EARLY_BYTES {
            let Some((_, oldest)) = table.early.pop_front() else {
                break;
            };
            table.early_bytes -= event_size(&oldest);
        }
        table.early_bytes += size;
        table.early.push_back((id.into(), event));
        true
    }

    /// A new connection: returns its generation.
    pub(crate) fn next_generation(&self) -> u64 {
        self.generation.fetch_add(1, Ordering::AcqRel) + 1
    }

    /// Registers a subscription the server opened as `id`; returns its key
    /// and its stream's receiving end.
    fn open(
        &self,
        id: Box<str>,
        method: &str,
        params: Option<Box<RawValue>>,
        unsubscribe: &str,
    ) -> (u64, mpsc::Receiver<Event>) {
        let (events, receiver) = mpsc::channel(SUBSCRIPTION_BUFFER);
        let mut open = Open {
            id: id.clone(),
            method: method.to_owned(),
            params,
            unsubscribe: unsubscribe.to_owned(),
            events,
            missed: 0,
            generation: self.generation.load(Ordering::Acquire),
        };
        let mut table = self.table();
        if table.closed {
            // Its stream ends at once.
            return (u64::MAX, receiver);
        }
        take_early(&mut table, &id, &mut open);
        let key = table.next_key;
        table.next_key += 1;
        table.by_id.insert(id, key);
        table.open.insert(key, open);
        self.any.store(true, Ordering::Release);
        (key, receiver)
    }

    /// Forgets the subscription `key`; the unsubscribe method to call and
    /// its params (`[id]`), if it was open.
    fn close(&self, key: u64) -> Option<(String, Box<RawValue>)> {
        let mut table = self.table();
        let open = table.open.remove(&key)?;
        table.by_id.remove(&open.id);
        if table.open.is_empty() {
            self.any.store(false, Ordering::Release);
        }
        // The id is raw JSON already.
        let params = RawValue::from_string(format!("[{}]", open.id)).ok()?;
        Some((open.unsubscribe, params))
    }

    /// The server's id of subscription `key`, as raw JSON.
    fn id(&self, key: u64) -> Option<Box<str>> {
        self.table().open.get(&key).map(|open| open.id.clone())
    }

    /// The client is closed for good: every stream ends.
    pub(crate) fn end_all(&self) {
        let mut table = self.table();
        *table = Table {
            next_key: table.next_key,
            closed: true,
            ..Table::default()
        };
        self.any.store(false, Ordering::Release);
    }

    /// On connection `generation`: opens again every subscription of an
    /// earlier connection, and tells its stream that items may have been
    /// missed. A subscription that cannot be opened again ends; one whose
    /// call the connection's end interrupted waits for the next.
    pub(crate) async fn reopen_all(&self, client: &Client, generation: u64) {
        let stale: Vec<(u64, String, Option<Box<RawValue>>, String)> = {
            let mut table = self.table();
            // What arrived for the old connection's ids is stale.
            table.early.clear();
            table.early_bytes = 0;
            table
                .open
                .iter()
                .filter(|(_, open)| open.generation < generation)
                .map(|(key, open)| {
                    let (method, params) = (open.method.clone(), open.params.clone());
                    (*key, method, params, open.unsubscribe.clone())
                })
                .collect()
        };
        for (key, method, params, unsubscribe) in stale {
            let reopened = {
                let _opening = Opening::new(&self.opening);
                client.call_raw(&method, params).await
            };
            if self.generation.load(Ordering::Acquire) != generation {
                // Another connection already: its own pass reopens them.
                return;
            }
            let mut table = self.table();
            let table = &mut *table;
            let Some(open) = table
                .open
                .get_mut(&key)
                .filter(|open| open.generation < generation)
            else {
                // Dropped meanwhile (or reopened by another pass): what was
                // opened now is nobody's.
                if let Ok(id) = &reopened {
                    if let Ok(params) = RawValue::from_string(format!("[{}]", id.get())) {
                        unsubscribe_quietly(client, unsubscribe, params);
                    }
                }
                continue;
            };
            match reopened {
                Ok(id) => {
                    let id: Box<str> = id.get().into();
                    let old = std::mem::replace(&mut open.id, id.clone());
                    open.generation = generation;
                    open.send(Event::Missed(None));
                    table.by_id.remove(&old);
                    table.by_id.insert(id.clone(), key);
                    if let Some(mut open) = table.open.remove(&key) {
                        take_early(table, &id, &mut open);
                        table.open.insert(key, open);
                    }
                }
                Err(CallError::Closed) => {}
                Err(err) => {
                    tracing::debug!(method, error = %err, "a subscription could not be opened again");
                    if let Some(open) = table.open.remove(&key) {
                        table.by_id.remove(&open.id);
                        let _ = open.events.try_send(Event::Failed(err));
                    }
                }
            }
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

/// What an early item weighs.
fn event_size(event: &Event) -> usize {
    match event {
        Event::Item(raw) => raw.get().len(),
        Event::Missed(_) | Event::Failed(_) => 16,
    }
}

/// Hands `open` the items that arrived for `id` before it was registered.
fn take_early(table: &mut Table, id: &str, open: &mut Open) {
    if table.early.is_empty() {
        return;
    }
    let mut rest = VecDeque::with_capacity(table.early.len());
    for (for_id, event) in table.early.drain(..) {
        if *for_id == *id {
            table.early_bytes -= event_size(&event);
            open.send(event);
        } else {
            rest.push_back((for_id, event));
        }
    }
    table.early = rest;
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
            .shared
            .subscriptions
            .id(self.key)
            .map(String::from)
    }

    /// Ends the subscription and waits for the server's answer: whether it
    /// was open there.
    pub async fn unsubscribe(self) -> Result<bool, CallError> {
        // Closed here, so the drop that follows finds nothing to end.
        let subscriptions = &self.client.shared.subscriptions;
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
        if let Some((method, params)) = self.client.shared.subscriptions.close(self.key) {
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
    /// [`SubscriptionError::Missed`]`(None)` first).
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
        let params = rpc_core::params_json(&params)?;
        let subscriptions = &self.shared.subscriptions;
        let _opening = Opening::new(&subscriptions.opening);
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
