//! The open subscriptions of a client: each server notification of one
//! goes to its stream, items that arrive before their subscription is
//! known wait for it, and after a reconnect each is marked for opening
//! again. Nothing here calls the server: `super` does.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};

use rpc_core::{CallError, Position};
use serde::Deserialize;
use serde_json::value::RawValue;
use tokio::sync::mpsc;

/// How many items a subscription holds for its reader; past that, items
/// are dropped and the stream says how many it missed.
pub const SUBSCRIPTION_BUFFER: usize = 1024;

/// Items that arrive before their subscription is known (the server sends
/// them right behind the reply), held for it while a subscribe call is under
/// way: up to this many bytes in all.
const EARLY_BYTES: usize = 1024 * 1024;

/// A subscription of an earlier connection, to open again.
pub(crate) struct Stale {
    key: u64,
    pub(crate) method: String,
    /// Its params, asking for what came after its last position when the
    /// server sent positions.
    pub(crate) params: Option<Box<RawValue>>,
    /// The params as first given, when `since` was added to them: for a
    /// method that turns out not to take it.
    pub(crate) without_since: Option<Option<Box<RawValue>>>,
    unsubscribe: String,
}

/// What a subscription's stream receives.
pub(crate) enum Event {
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
pub(crate) struct Opening<'a>(&'a AtomicUsize);

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
    /// Items for ids not known yet, with their positions.
    early: VecDeque<(Box<str>, Event, Option<Position>)>,
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
    /// The position of the last item, when the server sends positions:
    /// reopened with it as `since`, the subscription misses nothing.
    last: Option<Position>,
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
    /// Where the item stands in a group's history.
    position: Option<Position>,
    /// `false` when the server could not send what was missed.
    recovered: Option<bool>,
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
        let event = match (params.result, params.dropped, params.recovered) {
            (Some(item), _, _) => Event::Item(item.to_owned()),
            (None, Some(dropped), _) => Event::Missed(Some(dropped)),
            // What was missed is lost: the application reloads.
            (None, None, Some(false)) => Event::Missed(None),
            _ => return false,
        };
        let id = params.subscription.get();
        let mut table = self.table();
        let table = &mut *table;
        if let Some(open) = table.by_id.get(id).and_then(|key| table.open.get_mut(key)) {
            if params.position.is_some() {
                open.last = params.position;
            }
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
            let Some((_, oldest, _)) = table.early.pop_front() else {
                break;
            };
            table.early_bytes -= event_size(&oldest);
        }
        table.early_bytes += size;
        table.early.push_back((id.into(), event, params.position));
        true
    }

    /// A new connection: returns its generation.
    pub(crate) fn next_generation(&self) -> u64 {
        self.generation.fetch_add(1, Ordering::AcqRel) + 1
    }

    /// Registers a subscription the server opened as `id`; returns its key
    /// and its stream's receiving end.
    pub(crate) fn open(
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
            last: None,
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
    pub(crate) fn close(&self, key: u64) -> Option<(String, Box<RawValue>)> {
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
    pub(crate) fn id(&self, key: u64) -> Option<Box<str>> {
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

    /// Counts a subscribe call as under way while the guard lives.
    pub(crate) fn opening(&self) -> Opening<'_> {
        Opening::new(&self.opening)
    }

    /// Whether `generation` is still the current connection's.
    pub(crate) fn is_current(&self, generation: u64) -> bool {
        self.generation.load(Ordering::Acquire) == generation
    }

    /// The subscriptions of connections before `generation`, to open again
    /// (what arrived for their old ids is dropped).
    pub(crate) fn stale(&self, generation: u64) -> Vec<Stale> {
        let mut table = self.table();
        table.early.clear();
        table.early_bytes = 0;
        table
            .open
            .iter()
            .filter(|(_, open)| open.generation < generation)
            .map(|(key, open)| {
                let since = open
                    .last
                    .as_ref()
                    .and_then(|last| with_since(open.params.as_deref(), last));
                Stale {
                    key: *key,
                    method: open.method.clone(),
                    without_since: since.as_ref().map(|_| open.params.clone()),
                    params: since.or_else(|| open.params.clone()),
                    unsubscribe: open.unsubscribe.clone(),
                }
            })
            .collect()
    }

    /// Records how opening `stale` again on connection `generation` went:
    /// the new id (its stream told that items may have been missed), or the
    /// end of the stream. Returns the unsubscribe call to make when what was
    /// opened is nobody's (the stream was dropped meanwhile).
    pub(crate) fn reopened(
        &self,
        stale: &Stale,
        generation: u64,
        outcome: Result<Box<RawValue>, CallError>,
        recovered: bool,
    ) -> Option<(String, Box<RawValue>)> {
        let key = stale.key;
        let mut table = self.table();
        let table = &mut *table;
        let Some(open) = table
            .open
            .get_mut(&key)
            .filter(|open| open.generation < generation)
        else {
            // Dropped meanwhile (or reopened by another pass).
            let id = outcome.ok()?;
            let params = RawValue::from_string(format!("[{}]", id.get())).ok()?;
            return Some((stale.unsubscribe.clone(), params));
        };
        match outcome {
            Ok(id) => {
                let id: Box<str> = id.get().into();
                let old = std::mem::replace(&mut open.id, id.clone());
                open.generation = generation;
                if !recovered {
                    open.last = None;
                }
                if open.last.is_none() {
                    // Nothing says what was missed meanwhile. With a
                    // position, the server sends it, or says it cannot.
                    open.send(Event::Missed(None));
                }
                table.by_id.remove(&old);
                table.by_id.insert(id.clone(), key);
                if let Some(mut open) = table.open.remove(&key) {
                    take_early(table, &id, &mut open);
                    table.open.insert(key, open);
                }
            }
            Err(CallError::Closed) => {}
            Err(err) => {
                tracing::debug!(method = stale.method, error = %err, "a subscription could not be opened again");
                if let Some(open) = table.open.remove(&key) {
                    table.by_id.remove(&open.id);
                    let _ = open.events.try_send(Event::Failed(err));
                }
            }
        }
        None
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
    for (for_id, event, position) in table.early.drain(..) {
        if *for_id == *id {
            table.early_bytes -= event_size(&event);
            if position.is_some() {
                open.last = position;
            }
            open.send(event);
        } else {
            rest.push_back((for_id, event, position));
        }
    }
    table.early = rest;
}

/// The subscribe call's params, asking for what came after `since`: the
/// member `since` of params by name; by position, the last element when it
/// is a position (or null) already, else one more.
fn with_since(params: Option<&RawValue>, since: &Position) -> Option<Box<RawValue>> {
    let mut value = match params {
        Some(params) => serde_json::from_str(params.get()).ok()?,
        None => serde_json::Value::Object(serde_json::Map::new()),
    };
    let since = serde_json::to_value(since).ok()?;
    match &mut value {
        serde_json::Value::Object(members) => {
            members.insert("since".to_owned(), since);
        }
        serde_json::Value::Array(items) => {
            let last_is_since = items.last().is_some_and(|last| {
                last.is_null() || (last.get("epoch").is_some() && last.get("offset").is_some())
            });
            if last_is_since {
                items.pop();
            }
            items.push(since);
        }
        _ => return params.map(ToOwned::to_owned),
    }
    serde_json::value::to_raw_value(&value).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(json: &str) -> Box<RawValue> {
        RawValue::from_string(json.to_owned()).unwrap()
    }

    #[test]
    fn since_goes_by_name_or_last_by_position() {
        let since = Position::new("e", 7);
        let with = |params: Option<&str>| {
            with_since(params.map(raw).as_deref(), &since).map(|raw| raw.get().to_owned())
        };
        let position = r#"{"epoch":"e","offset":7}"#;
        assert_eq!(
            with(Some(r#"{"room":"a"}"#)).unwrap(),
            format!(r#"{{"room":"a","since":{position}}}"#)
        );
        assert_eq!(
            with(Some(r#"{"room":"a","since":{"epoch":"e","offset":1}}"#)).unwrap(),
            format!(r#"{{"room":"a","since":{position}}}"#)
        );
        assert_eq!(
            with(Some(r#"["a"]"#)).unwrap(),
            format!(r#"["a",{position}]"#)
        );
        assert_eq!(
            with(Some(r#"["a",null]"#)).unwrap(),
            format!(r#"["a",{position}]"#)
        );
        assert_eq!(
            with(Some(r#"["a",{"epoch":"x","offset":2}]"#)).unwrap(),
            format!(r#"["a",{position}]"#)
        );
        assert_eq!(with(None).unwrap(), format!(r#"{{"since":{position}}}"#));
    }
}
