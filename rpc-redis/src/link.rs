//! The link task: one per backend, the only place that talks to Redis
//! besides queries. It keeps a command connection (publishing, the
//! membership registry, heartbeats) and a subscription connection (the
//! channels of the groups with members here, and this instance's own), and
//! when either fails it delivers locally, keeps the outbox, and reconnects
//! with backoff.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use futures_util::StreamExt as _;
use redis::aio::{MultiplexedConnection, PubSubSink, PubSubStream};
use redis::{AsyncConnectionConfig, Msg};
use rpc_server::connect::ConnectionId;
use rpc_server::groups::{Cursor, Frame, GroupBackend as _, Position, Step};
use tokio::time::{MissedTickBehavior, interval, sleep, timeout};

use crate::history::Stored as StoredMessage;
use crate::sequence::{Gaps, Numbering};
use crate::shared::{Shared, lock};
use crate::wire::Envelope;

/// Messages published in one pipeline at most.
const BATCH: usize = 256;
/// Messages of a group's history read at once when filling a gap.
const HISTORY_PAGE: usize = 500;
/// Fields written by one `HSET` at most.
const FIELDS_PER_COMMAND: usize = 1_000;
const FIRST_BACKOFF: Duration = Duration::from_millis(100);

/// What the task remembers across connections.
#[derive(Default)]
struct State {
    /// Groups with members here, and how many: what is subscribed and
    /// registered (again after a reconnect).
    groups: HashMap<String, usize>,
    /// Connections here that are in groups, and their groups.
    connections: HashMap<ConnectionId, Vec<String>>,
    numbering: Numbering,
    gaps: Gaps,
    /// Per group with history and members here: the last position
    /// delivered here, to skip what was delivered and fill what was missed.
    cursors: HashMap<String, Cursor>,
    /// Numbers this instance's messages to groups with history.
    stored: Numbers,
}

/// Numbers the messages this instance stores in histories: one count for
/// all groups, which only grows.
#[derive(Default)]
struct Numbers(u64);

impl Numbers {
    fn next(&mut self) -> u64 {
        self.0 += 1;
        self.0
    }
}

/// A changed entry for the registry: its new value, or `None` to remove it.
type Changes<K, V> = Vec<(K, Option<V>)>;

impl State {
    /// Takes the membership changes made since the last call into the
    /// remembered state; returns the changed entries.
    fn apply(
        &mut self,
        shared: &Shared,
    ) -> (Changes<String, usize>, Changes<ConnectionId, String>) {
        let dirty = shared.take_dirty();
        let mut groups = Vec::with_capacity(dirty.groups.len());
        for group in dirty.groups {
            let members = shared.local.local_len(&group);
            if members > 0 {
                self.groups.insert(group.clone(), members);
                groups.push((group, Some(members)));
            } else if self.groups.remove(&group).is_some() {
                groups.push((group, None));
            }
        }
        let mut connections = Vec::with_capacity(dirty.connections.len());
        for id in dirty.connections {
            let joined = shared.local.local_groups(id);
            if joined.is_empty() {
                if self.connections.remove(&id).is_some() {
                    connections.push((id, None));
                }
            } else {
                let json = serde_json::to_string(&joined).unwrap_or_default();
                self.connections.insert(id, joined);
                connections.push((id, Some(json)));
            }
        }
        (groups, connections)
    }
}

/// Runs until the backend stops.
pub(crate) async fn run(shared: Arc<Shared>) {
    let mut state = State::default();
    let mut backoff = FIRST_BACKOFF;
    loop {
        shared.report_outbox_drops();
        if shared.is_stopping() {
            shared.stopped();
            return;
        }
        let ended = match connect(&shared).await {
            Ok(link) => {
                backoff = FIRST_BACKOFF;
                link.serve(&shared, &mut state).await
            }
            Err(err) => Err(err),
        };
        match ended {
            Ok(()) => {
                shared.stopped();
                return;
            }
            Err(reason) => shared.set_down(&reason),
        }
        let wait = jittered(backoff);
        backoff = (backoff * 2).min(shared.config.max_backoff);
        tokio::select! {
            () = sleep(wait) => {}
            () = shared.stop.notified() => {}
        }
    }
}

/// Somewhere between half and all of `backoff`, so that instances that
/// lost Redis together do not all come back in the same instant.
fn jittered(backoff: Duration) -> Duration {
    let random = rpc_server::groups::InstanceId::random().as_u64();
    let half = backoff / 2;
    half + Duration::from_nanos(random % (half.as_nanos() as u64).max(1))
}

struct Link {
    commands: MultiplexedConnection,
    subscriptions: PubSubSink,
    messages: PubSubStream,
    /// Group channels subscribed on this connection.
    subscribed: HashSet<String>,
}

async fn connect(shared: &Shared) -> Result<Link, String> {
    let config = &shared.config;
    let commands_config = AsyncConnectionConfig::new()
        .set_connection_timeout(Some(config.connect_timeout))
        .set_response_timeout(Some(config.response_timeout));
    let commands = shared
        .client
        .get_multiplexed_async_connection_with_config(&commands_config)
        .await
        .map_err(|err| err.to_string())?;
    let pubsub = timeout(config.connect_timeout, shared.client.get_async_pubsub())
        .await
        .map_err(|_| "timed out connecting".to_owned())?
        .map_err(|err| err.to_string())?;
    let mut commands = commands;
    within(config.response_timeout, shared.scripts.load(&mut commands)).await?;
    let (mut subscriptions, messages) = pubsub.split();
    let own = shared.keys.connection_channel(shared.instance);
    within(config.response_timeout, subscriptions.subscribe(&own)).await?;
    Ok(Link {
        commands,
        subscriptions,
        messages,
        subscribed: HashSet::new(),
    })
}

/// Awaits a Redis command for at most `limit`.
async fn within<T>(
    limit: Duration,
    command: impl Future<Output = redis::RedisResult<T>>,
) -> Result<T, String> {
    match timeout(limit, command).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(err)) => Err(err.to_string()),
        Err(_) => Err(format!("no answer within {limit:?}")),
    }
}

impl Link {
    /// Serves the link until it fails (`Err` with why) or the backend
    /// stops (`Ok`, after publishing what is queued and removing this
    /// instance's entries).
    async fn serve(mut self, shared: &Shared, state: &mut State) -> Result<(), String> {
        // What changed while down, then everything, again.
        state.apply(shared);
        for group in state.groups.keys().cloned().collect::<Vec<_>>() {
            self.subscribe(shared, &group).await?;
        }
        // Numbering seen on groups no longer heard is not owed any more.
        let own = shared.keys.connection_channel(shared.instance);
        state
            .gaps
            .retain(|channel| *channel == own || self.subscribed.contains(channel));
        self.register_all(shared, state).await?;
        // What groups with history said while the link was down: read from
        // their streams, before what the subscriptions bring now.
        let behind: Vec<String> = state.cursors.keys().cloned().collect();
        for group in behind {
            self.catch_up(shared, state, &group).await?;
        }
        *lock(&shared.commands) = Some(self.commands.clone());
        shared.set_up();

        let mut heartbeat = interval(shared.config.heartbeat);
        heartbeat.set_missed_tick_behavior(MissedTickBehavior::Delay);
        heartbeat.tick().await;
        // Not biased: a steady stream on one branch (messages to deliver,
        // broadcasts to publish) must not starve the others (the heartbeat
        // above all).
        loop {
            tokio::select! {
                () = shared.stop.notified() => {
                    self.sync(shared, state).await?;
                    self.publish(shared, state, usize::MAX).await?;
                    self.unregister(shared).await;
                    return Ok(());
                }
                message = self.messages.next() => match message {
                    Some(message) => self.receive(shared, state, &message).await?,
                    None => return Err("the subscription connection closed".to_owned()),
                },
                () = shared.wake.notified() => {
                    self.sync(shared, state).await?;
                    // What is queued now; later broadcasts wait their turn.
                    let due = lock(&shared.outbox).len();
                    self.publish(shared, state, due).await?;
                }
                _ = heartbeat.tick() => {
                    self.heartbeat(shared).await?;
                    shared.report_outbox_drops();
                }
            }
        }
    }

    async fn subscribe(&mut self, shared: &Shared, group: &str) -> Result<(), String> {
        let channel = shared.keys.group_channel(group);
        if self.subscribed.contains(&channel) {
            return Ok(());
        }
        within(
            shared.config.response_timeout,
            self.subscriptions.subscribe(&channel),
        )
        .await?;
        self.subscribed.insert(channel);
        Ok(())
    }

    async fn unsubscribe(
        &mut self,
        shared: &Shared,
        state: &mut State,
        group: &str,
    ) -> Result<(), String> {
        let channel = shared.keys.group_channel(group);
        state.gaps.forget(&channel);
        state.cursors.remove(group);
        if self.subscribed.remove(&channel) {
            within(
                shared.config.response_timeout,
                self.subscriptions.unsubscribe(&channel),
            )
            .await?;
        }
        Ok(())
    }

    /// Writes membership changes: subscriptions first, so that once a
    /// count is visible elsewhere, this instance already hears the group.
    async fn sync(&mut self, shared: &Shared, state: &mut State) -> Result<(), String> {
        let (groups, connections) = state.apply(shared);
        if groups.is_empty() && connections.is_empty() {
            return Ok(());
        }
        for (group, members) in &groups {
            match members {
                Some(_) => self.subscribe(shared, group).await?,
                None => self.unsubscribe(shared, state, group).await?,
            }
        }
        let instance = shared.instance.to_string();
        let (groups_key, connections_key) = (
            shared.keys.groups(&instance),
            shared.keys.connections(&instance),
        );
        let mut pipe = redis::pipe();
        for (group, members) in &groups {
            match members {
                Some(members) => pipe.hset(&groups_key, group, members).ignore(),
                None => pipe.hdel(&groups_key, group).ignore(),
            };
        }
        for (id, joined) in &connections {
            match joined {
                Some(json) => pipe.hset(&connections_key, id.to_string(), json).ignore(),
                None => pipe.hdel(&connections_key, id.to_string()).ignore(),
            };
        }
        self.expire(shared, &mut pipe, &instance);
        within(
            shared.config.response_timeout,
            pipe.exec_async(&mut self.commands),
        )
        .await
    }

    /// Writes this instance's whole registry anew (after a connect: Redis
    /// may have restarted empty, or expired it during the outage).
    async fn register_all(&mut self, shared: &Shared, state: &State) -> Result<(), String> {
        let instance = shared.instance.to_string();
        let (groups_key, connections_key) = (
            shared.keys.groups(&instance),
            shared.keys.connections(&instance),
        );
        let mut pipe = redis::pipe();
        pipe.del(&groups_key)
            .ignore()
            .del(&connections_key)
            .ignore();
        let groups: Vec<(&String, &usize)> = state.groups.iter().collect();
        for chunk in groups.chunks(FIELDS_PER_COMMAND) {
            pipe.hset_multiple(&groups_key, chunk).ignore();
        }
        let connections: Vec<(String, String)> = state
            .connections
            .iter()
            .map(|(id, joined)| {
                (
                    id.to_string(),
                    serde_json::to_string(joined).unwrap_or_default(),
                )
            })
            .collect();
        for chunk in connections.chunks(FIELDS_PER_COMMAND) {
            pipe.hset_multiple(&connections_key, chunk).ignore();
        }
        self.expire(shared, &mut pipe, &instance);
        within(
            shared.config.response_timeout,
            pipe.exec_async(&mut self.commands),
        )
        .await
    }

    /// Says this instance is alive, and keeps its entries from expiring.
    async fn heartbeat(&mut self, shared: &Shared) -> Result<(), String> {
        let instance = shared.instance.to_string();
        let mut pipe = redis::pipe();
        self.expire(shared, &mut pipe, &instance);
        within(
            shared.config.response_timeout,
            pipe.exec_async(&mut self.commands),
        )
        .await
    }

    fn expire(&self, shared: &Shared, pipe: &mut redis::Pipeline, instance: &str) {
        let keys = &shared.keys;
        let expiry = i64::try_from(shared.config.expiry.as_millis()).unwrap_or(i64::MAX);
        pipe.cmd("SET")
            .arg(keys.alive(instance))
            .arg(1)
            .arg("PX")
            .arg(expiry)
            .ignore();
        pipe.pexpire(keys.groups(instance), expiry).ignore();
        pipe.pexpire(keys.connections(instance), expiry).ignore();
        pipe.sadd(keys.instances(), instance).ignore();
    }

    /// Removes this instance's entries (a clean stop: its members leave the
    /// counts at once instead of at expiry).
    async fn unregister(&mut self, shared: &Shared) {
        let instance = shared.instance.to_string();
        let keys = &shared.keys;
        let mut pipe = redis::pipe();
        pipe.del(keys.alive(&instance))
            .ignore()
            .del(keys.groups(&instance))
            .ignore()
            .del(keys.connections(&instance))
            .ignore()
            .srem(keys.instances(), &instance)
            .ignore();
        let removed = within(
            shared.config.response_timeout,
            pipe.exec_async(&mut self.commands),
        )
        .await;
        if let Err(err) = removed {
            tracing::debug!(error = %err, "could not remove this instance's entries; they expire");
        }
    }

    /// Publishes up to `at_most` messages of the outbox, oldest first,
    /// numbering each on its channel. If more are left, the task comes back
    /// for them after its other duties.
    async fn publish(
        &mut self,
        shared: &Shared,
        state: &mut State,
        at_most: usize,
    ) -> Result<(), String> {
        let mut left = at_most;
        while left > 0 {
            let mut batch = lock(&shared.outbox).take(BATCH.min(left));
            if batch.is_empty() {
                break;
            }
            left -= batch.len();
            let mut pipe = redis::pipe();
            for message in &mut batch {
                let group = shared.keys.group_of(&message.channel);
                if let (Some(history), Some(group)) = (&message.history, group) {
                    // Numbered once, so that sending it again stores it
                    // once; ordered by its position, not by SEQ.
                    let number = *message.number.get_or_insert_with(|| state.stored.next());
                    let head = Envelope {
                        origin: shared.instance,
                        seq: 0,
                        target: None,
                        position: None,
                        frame: "",
                    }
                    .head();
                    let stored = StoredMessage {
                        channel: &message.channel,
                        frame: &message.frame,
                        history,
                        origin: shared.instance,
                        number,
                    };
                    shared
                        .scripts
                        .publish_in(&mut pipe, &shared.keys, group, &head, &stored);
                    continue;
                }
                let envelope = Envelope {
                    origin: shared.instance,
                    seq: state.numbering.next(&message.channel),
                    target: message.target,
                    position: None,
                    frame: message.frame.as_str(),
                };
                pipe.publish(&message.channel, envelope.encode()).ignore();
            }
            let sent = within(
                shared.config.response_timeout,
                pipe.exec_async(&mut self.commands),
            )
            .await;
            if let Err(err) = sent {
                // Messages of groups with history are sent again after the
                // reconnect (stored once whatever happened to this try);
                // the others are lost (sending them again could deliver
                // them twice): receivers see the gap in their numbering and
                // report it when the sender's next message arrives.
                let (again, lost): (Vec<_>, Vec<_>) = batch
                    .into_iter()
                    .partition(|message| message.history.is_some());
                shared.settled(lost.len() as u64, false);
                lock(&shared.outbox).put_back(again);
                return Err(err);
            }
            shared.settled(batch.len() as u64, true);
        }
        if !lock(&shared.outbox).is_empty() {
            shared.wake.notify_one();
        }
        Ok(())
    }

    /// Delivers a message from another instance (or, in a group with
    /// history, from any instance) to the members here.
    async fn receive(
        &mut self,
        shared: &Shared,
        state: &mut State,
        message: &Msg,
    ) -> Result<(), String> {
        let channel = message.get_channel_name();
        let group = shared.keys.group_of(channel);
        if group.is_some() && !self.subscribed.contains(channel) {
            // Still in flight when we unsubscribed: no member here wants it.
            return Ok(());
        }
        let Some(envelope) = Envelope::decode(message.get_payload_bytes()) else {
            tracing::debug!(%channel, "ignored a message that is not ours");
            return Ok(());
        };
        if let (Some((epoch, offset)), Some(group)) = (envelope.position, group) {
            let position = Position::new(epoch, offset);
            let frame = Frame::from(envelope.frame.to_owned());
            return self
                .receive_at(shared, state, group, &frame, position)
                .await;
        }
        if envelope.origin == shared.instance {
            // Ours: delivered here when it was sent.
            return Ok(());
        }
        shared.counters.received.fetch_add(1, Ordering::Relaxed);
        let lost = state.gaps.record(channel, envelope.origin, envelope.seq);
        if lost > 0 {
            shared.report_lost(lost, channel);
        }
        let frame = Frame::from(envelope.frame.to_owned());
        match group {
            Some(group) => {
                shared.local.broadcast(group, &frame);
            }
            None => {
                if let Some(id) = envelope.connection(shared.instance) {
                    shared.local.notify_connection(id, &frame);
                }
            }
        }
        Ok(())
    }

    /// Delivers a message of a group with history at `position`: once, in
    /// order, after what was missed before it (read from the history).
    async fn receive_at(
        &mut self,
        shared: &Shared,
        state: &mut State,
        group: &str,
        frame: &Frame,
        position: Position,
    ) -> Result<(), String> {
        if position.epoch.len() > 64 {
            tracing::debug!(%group, "ignored a message with an unusable position");
            return Ok(());
        }
        shared.counters.received.fetch_add(1, Ordering::Relaxed);
        let cursor = state.cursors.entry(group.to_owned()).or_default();
        match cursor.step(&position) {
            Step::Duplicate => return Ok(()),
            Step::Gap => {
                self.catch_up(shared, state, group).await?;
                let cursor = state.cursors.entry(group.to_owned()).or_default();
                if cursor.step(&position) != Step::Next {
                    // The history held it too, or lost it with the rest.
                    return Ok(());
                }
            }
            Step::Next | Step::NewEpoch => {}
        }
        shared.local.broadcast_at(group, frame, &position);
        state
            .cursors
            .entry(group.to_owned())
            .or_default()
            .advance(position);
        Ok(())
    }

    /// Delivers what `group`'s history holds after the last position
    /// delivered here (messages said while the link was down, or lost in
    /// transit), in order. When the history no longer holds them all, the
    /// members here are told nothing more than what is left: group streams
    /// see the gap themselves and say so.
    async fn catch_up(
        &mut self,
        shared: &Shared,
        state: &mut State,
        group: &str,
    ) -> Result<(), String> {
        let Some(history) = shared.config.history.for_group(group) else {
            return Ok(());
        };
        loop {
            let Some(last) = state
                .cursors
                .get(group)
                .and_then(|cursor| cursor.last().cloned())
            else {
                return Ok(());
            };
            let limit = shared.config.response_timeout;
            let read = shared.scripts.read(
                &mut self.commands,
                &shared.keys,
                group,
                &history,
                last.offset,
                HISTORY_PAGE,
            );
            let page = match timeout(limit, read).await {
                Ok(page) => page?,
                Err(_) => return Err(format!("no answer within {limit:?}")),
            };
            let cursor = state.cursors.entry(group.to_owned()).or_default();
            if !page.covers(&last) {
                tracing::warn!(%group, from = %last, to = %page.top_position(), "group messages missed here are no longer in the history");
                if page.epoch == last.epoch {
                    shared.report_lost(page.top.saturating_sub(last.offset), group);
                }
                // Live messages go on from the top.
                cursor.advance(page.top_position());
                return Ok(());
            }
            let full = page.messages.len() >= HISTORY_PAGE;
            for (offset, frame) in &page.messages {
                let position = Position::new(page.epoch.clone(), *offset);
                if cursor.step(&position) == Step::Next {
                    shared.local.broadcast_at(group, frame, &position);
                    cursor.advance(position);
                }
            }
            let caught_up = cursor.last().is_some_and(|last| last.offset >= page.top);
            if !full || caught_up {
                return Ok(());
            }
        }
    }
}
