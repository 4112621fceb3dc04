//! The link task: one per backend, the only place that talks to Redis
//! besides queries and the heartbeat. It keeps a command connection
//! (publishing, the membership registry) and a subscription connection
//! (the channels of the groups with members here, and this instance's
//! own), and when either fails it delivers locally, keeps the outbox, and
//! reconnects with backoff.
//!
//! Its loop takes turns between delivering what the subscriptions bring,
//! publishing the outbox, and membership changes, a bounded batch of each
//! at a time, so that none of them waits long behind another; the
//! heartbeat runs beside it (`heartbeat.rs`).

mod heartbeat;
mod publish;
mod receive;
mod registry;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt as _;
use redis::AsyncConnectionConfig;
use redis::aio::{MultiplexedConnection, PubSubSink, PubSubStream};
use rpc_server::groups::Cursor;
use tokio::time::{sleep, timeout};

use crate::sequence::{Gaps, Numbering};
use crate::shared::{Shared, lock};
use registry::Registry;

/// Messages published in one pipeline at most.
const BATCH: usize = 256;
/// Messages of a group's history read at once when filling a gap.
const HISTORY_PAGE: usize = 500;
/// Membership changes taken in one turn of the loop at most; also the
/// channels one `SUBSCRIBE` names at most.
const MEMBERSHIP_BATCH: usize = 1_000;
const FIRST_BACKOFF: Duration = Duration::from_millis(100);

/// What the task remembers across connections.
#[derive(Default)]
struct State {
    registry: Registry,
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
    let mut commands = shared
        .client
        .get_multiplexed_async_connection_with_config(&commands_config)
        .await
        .map_err(|err| err.to_string())?;
    let pubsub = timeout(config.connect_timeout, shared.client.get_async_pubsub())
        .await
        .map_err(|_| "timed out connecting".to_owned())?
        .map_err(|err| err.to_string())?;
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
    async fn serve(mut self, shared: &Arc<Shared>, state: &mut State) -> Result<(), String> {
        // What changed while down, then everything, again.
        while self.sync(shared, state).await? {}
        let groups: Vec<String> = state.registry.groups.keys().cloned().collect();
        // Cursors seeded now catch up as they are subscribed; the others,
        // below, once everything is.
        let behind: Vec<String> = state.cursors.keys().cloned().collect();
        self.subscribe(shared, state, &groups).await?;
        // Numbering seen on groups no longer heard is not owed any more.
        let own = shared.keys.connection_channel(shared.instance);
        state
            .gaps
            .retain(|channel| *channel == own || self.subscribed.contains(channel));
        let mut pipe = redis::pipe();
        state
            .registry
            .write_all(&mut pipe, &shared.keys, &shared.instance.to_string());
        registry::expire(&mut pipe, shared);
        within(
            shared.config.response_timeout,
            pipe.exec_async(&mut self.commands),
        )
        .await?;
        let mut heartbeat = heartbeat::start(shared, self.commands.clone());
        // What groups with history said while the link was down: read from
        // their streams, before what the subscriptions bring now.
        for group in behind {
            self.catch_up(shared, state, &group).await?;
        }
        *lock(&shared.commands) = Some(self.commands.clone());
        shared.set_up();

        // Not biased: a steady stream on one branch (messages to deliver,
        // broadcasts to publish, joins) must not starve the others.
        loop {
            tokio::select! {
                () = shared.stop.notified() => {
                    while self.sync(shared, state).await? {}
                    self.publish(shared, state, usize::MAX).await?;
                    self.unregister(shared).await;
                    return Ok(());
                }
                message = self.messages.next() => match message {
                    Some(message) => self.receive(shared, state, &message).await?,
                    None => return Err("the subscription connection closed".to_owned()),
                },
                () = shared.wake.notified() => {
                    if self.sync(shared, state).await? {
                        // More changes wait: after the other branches' turn.
                        shared.wake.notify_one();
                    }
                    // What is queued now; later broadcasts wait their turn.
                    let due = lock(&shared.outbox).len();
                    self.publish(shared, state, due).await?;
                }
                failed = &mut heartbeat.failed => {
                    return Err(failed.unwrap_or_else(|_| "the heartbeat stopped".to_owned()));
                }
            }
        }
    }

    /// Subscribes to the channels of `groups` not subscribed yet, pipelined
    /// one channel to a `SUBSCRIBE` (redis-rs takes each confirmation as the
    /// answer of one command, so a command naming several channels would be
    /// taken as confirmed before it is). A group with history is heard from
    /// where it stands before its subscription: what is said in between is
    /// read from its history once the subscription is confirmed.
    async fn subscribe(
        &mut self,
        shared: &Shared,
        state: &mut State,
        groups: &[String],
    ) -> Result<(), String> {
        let new: Vec<&String> = groups
            .iter()
            .filter(|group| !self.subscribed.contains(&shared.keys.group_channel(group)))
            .collect();
        let mut seeded = Vec::new();
        for group in &new {
            let Some(history) = shared.config.history.for_group(group) else {
                continue;
            };
            if state.cursors.contains_key(*group) {
                continue;
            }
            let limit = shared.config.response_timeout;
            let read = shared
                .scripts
                .position(&mut self.commands, &shared.keys, group, &history);
            let position = match timeout(limit, read).await {
                Ok(position) => position?,
                Err(_) => return Err(format!("no answer within {limit:?}")),
            };
            state
                .cursors
                .insert((*group).clone(), Cursor::at(Some(position)));
            seeded.push((*group).clone());
        }
        let channels: Vec<String> = new
            .iter()
            .map(|group| shared.keys.group_channel(group))
            .collect();
        for chunk in channels.chunks(MEMBERSHIP_BATCH) {
            let confirmations = chunk.iter().map(|channel| {
                let mut sink = self.subscriptions.clone();
                async move { sink.subscribe(channel).await }
            });
            within(
                shared.config.response_timeout,
                futures_util::future::try_join_all(confirmations),
            )
            .await?;
            self.subscribed.extend(chunk.iter().cloned());
        }
        for group in seeded {
            self.catch_up(shared, state, &group).await?;
        }
        Ok(())
    }

    /// Unsubscribes from the channels of `groups`, pipelined.
    async fn unsubscribe(
        &mut self,
        shared: &Shared,
        state: &mut State,
        groups: &[String],
    ) -> Result<(), String> {
        let mut channels = Vec::with_capacity(groups.len());
        for group in groups {
            let channel = shared.keys.group_channel(group);
            state.gaps.forget(&channel);
            state.cursors.remove(group);
            if self.subscribed.remove(&channel) {
                channels.push(channel);
            }
        }
        for chunk in channels.chunks(MEMBERSHIP_BATCH) {
            let confirmations = chunk.iter().map(|channel| {
                let mut sink = self.subscriptions.clone();
                async move { sink.unsubscribe(channel).await }
            });
            within(
                shared.config.response_timeout,
                futures_util::future::try_join_all(confirmations),
            )
            .await?;
        }
        Ok(())
    }

    /// Writes a batch of membership changes: subscriptions first, so that
    /// once a count is visible elsewhere, this instance already hears the
    /// group. Returns whether more changes wait.
    async fn sync(&mut self, shared: &Shared, state: &mut State) -> Result<bool, String> {
        let (dirty, more) = shared.take_dirty(MEMBERSHIP_BATCH);
        if dirty.is_empty() {
            return Ok(more);
        }
        let changes = state.registry.apply(shared, dirty);
        self.subscribe(shared, state, &changes.subscribe).await?;
        self.unsubscribe(shared, state, &changes.unsubscribe)
            .await?;
        if changes.is_empty() {
            return Ok(more);
        }
        let mut pipe = redis::pipe();
        Registry::write(
            &mut pipe,
            &shared.keys,
            &shared.instance.to_string(),
            &changes,
        );
        within(
            shared.config.response_timeout,
            pipe.exec_async(&mut self.commands),
        )
        .await?;
        Ok(more)
    }

    /// Removes this instance's entries (a clean stop).
    async fn unregister(&mut self, shared: &Shared) {
        let mut pipe = redis::pipe();
        registry::unregister(&mut pipe, shared);
        let removed = within(
            shared.config.response_timeout,
            pipe.exec_async(&mut self.commands),
        )
        .await;
        if let Err(err) = removed {
            tracing::debug!(error = %err, "could not remove this instance's entries; they expire");
        }
    }
}
