//! What the handles and the link task share: the local groups, the outbox,
//! the membership changes not yet written, the link's state, and who to
//! tell when it changes.

use std::collections::HashSet;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use redis::aio::MultiplexedConnection;
use rpc_server::connect::ConnectionId;
use rpc_server::groups::{BackendHealth, Frame, GroupHistory, InstanceId, LocalGroups};
use rpc_server::hooks::{BackendEvent, DropCause, Hooks};
use tokio::sync::Notify;

use crate::config::RedisConfig;
use crate::history::Scripts;
use crate::outbox::{Outbox, Pending};
use crate::wire::Keys;

pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Membership changes the link task has not written to Redis yet: the
/// group and connection pairs whose membership may have changed.
type Dirty = HashSet<(String, ConnectionId)>;

/// Where the link to Redis stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Status {
    Connecting,
    Up,
    Down(String),
    Stopped,
}

pub(crate) struct Shared {
    pub(crate) config: RedisConfig,
    pub(crate) keys: Keys,
    pub(crate) instance: InstanceId,
    pub(crate) local: LocalGroups,
    pub(crate) client: redis::Client,
    /// The history scripts (loaded on each connection).
    pub(crate) scripts: Scripts,
    pub(crate) outbox: Mutex<Outbox>,
    pub(crate) dirty: Mutex<Dirty>,
    /// Rung when the outbox or the membership changed.
    pub(crate) wake: Notify,
    /// Rung when the outbox has been emptied onto Redis.
    pub(crate) flushed: Notify,
    stopping: AtomicBool,
    pub(crate) stop: Notify,
    status: Mutex<Status>,
    /// The link's command connection while it is up, for queries.
    pub(crate) commands: Mutex<Option<MultiplexedConnection>>,
    observers: Mutex<Vec<Arc<dyn Hooks>>>,
    pub(crate) counters: Counters,
    /// The link task, for `shutdown` to wait for.
    pub(crate) task: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

/// What the backend has done, for [`RedisGroups::stats`](crate::RedisGroups::stats).
#[derive(Debug, Default)]
pub(crate) struct Counters {
    /// Messages taken into the outbox.
    pub(crate) queued: AtomicU64,
    /// Of those, published, or lost in a batch that failed.
    pub(crate) settled: AtomicU64,
    /// Messages lost in batches that failed.
    pub(crate) failed: AtomicU64,
    pub(crate) published: AtomicU64,
    pub(crate) received: AtomicU64,
    pub(crate) dropped_outbox: AtomicU64,
    pub(crate) dropped_not_received: AtomicU64,
    /// Outbox drops not yet reported to the hooks.
    pub(crate) unreported_outbox_drops: AtomicU64,
    pub(crate) reconnects: AtomicU64,
}

impl Shared {
    pub(crate) fn new(config: RedisConfig, client: redis::Client) -> Self {
        let instance = InstanceId::random();
        Self {
            keys: Keys::new(&config.prefix),
            instance,
            local: LocalGroups::with_instance(instance),
            client,
            scripts: Scripts::new(),
            outbox: Mutex::new(Outbox::new(config.max_outbox_bytes)),
            dirty: Mutex::default(),
            wake: Notify::new(),
            flushed: Notify::new(),
            stopping: AtomicBool::new(false),
            stop: Notify::new(),
            status: Mutex::new(Status::Connecting),
            commands: Mutex::new(None),
            observers: Mutex::default(),
            counters: Counters::default(),
            task: Mutex::new(None),
            config,
        }
    }

    /// Queues a message for other instances (for every instance, this
    /// one included, in a group with `history`); a full outbox drops it,
    /// and so does a backend that has stopped.
    pub(crate) fn publish(
        &self,
        channel: String,
        target: Option<u64>,
        frame: &Frame,
        history: Option<GroupHistory>,
    ) {
        if self.is_stopping() {
            self.dropped(1);
            self.report_outbox_drops();
            return;
        }
        let message = Pending {
            channel,
            target,
            frame: frame.clone(),
            history,
            number: None,
        };
        match lock(&self.outbox).push(message) {
            Ok(()) => {
                self.counters.queued.fetch_add(1, Ordering::Relaxed);
            }
            Err(_) => self.dropped(1),
        }
        self.wake.notify_one();
    }

    fn dropped(&self, messages: u64) {
        let counters = &self.counters;
        counters
            .dropped_outbox
            .fetch_add(messages, Ordering::Relaxed);
        counters
            .unreported_outbox_drops
            .fetch_add(messages, Ordering::Relaxed);
    }

    /// `messages` taken from the outbox were published, or lost with their
    /// batch.
    pub(crate) fn settled(&self, messages: u64, published: bool) {
        let counters = &self.counters;
        if published {
            counters.published.fetch_add(messages, Ordering::Relaxed);
        } else {
            counters.failed.fetch_add(messages, Ordering::Relaxed);
        }
        counters.settled.fetch_add(messages, Ordering::Release);
        self.flushed.notify_waiters();
    }

    /// The link task ended: what is left in the outbox will never go.
    pub(crate) fn stopped(&self) {
        *lock(&self.commands) = None;
        *lock(&self.status) = Status::Stopped;
        let left = lock(&self.outbox).take(usize::MAX).len() as u64;
        if left > 0 {
            self.dropped(left);
        }
        self.report_outbox_drops();
        self.flushed.notify_waiters();
    }

    pub(crate) fn mark(&self, group: &str, id: ConnectionId) {
        lock(&self.dirty).insert((group.to_owned(), id));
        self.wake.notify_one();
    }

    /// Up to `at_most` membership changes, and whether more wait.
    pub(crate) fn take_dirty(&self, at_most: usize) -> (Vec<(String, ConnectionId)>, bool) {
        let mut dirty = lock(&self.dirty);
        if dirty.len() <= at_most {
            let all = std::mem::take(&mut *dirty);
            return (all.into_iter().collect(), false);
        }
        let taken: Vec<(String, ConnectionId)> = dirty.iter().take(at_most).cloned().collect();
        for pair in &taken {
            dirty.remove(pair);
        }
        (taken, true)
    }

    pub(crate) fn request_stop(&self) {
        self.stopping.store(true, Ordering::Release);
        self.stop.notify_one();
    }

    pub(crate) fn is_stopping(&self) -> bool {
        self.stopping.load(Ordering::Acquire)
    }

    pub(crate) fn status(&self) -> Status {
        lock(&self.status).clone()
    }

    pub(crate) fn health(&self) -> BackendHealth {
        match self.status() {
            Status::Up => BackendHealth::Healthy,
            Status::Connecting => BackendHealth::Degraded("connecting to Redis".to_owned()),
            Status::Down(reason) => BackendHealth::Degraded(format!("Redis unreachable: {reason}")),
            Status::Stopped => BackendHealth::Degraded("the Redis backend has stopped".to_owned()),
        }
    }

    /// The link is up: tell the observers if it was down.
    pub(crate) fn set_up(&self) {
        let was = std::mem::replace(&mut *lock(&self.status), Status::Up);
        tracing::info!(redis = %self.config.redacted_url(), instance = %self.instance, "group backend connected to Redis");
        if matches!(was, Status::Down(_)) {
            self.counters.reconnects.fetch_add(1, Ordering::Relaxed);
            self.emit(&BackendEvent::Up);
        }
    }

    /// The link is down (or could not come up): tell the observers once per
    /// outage.
    pub(crate) fn set_down(&self, reason: &str) {
        *lock(&self.commands) = None;
        let mut status = lock(&self.status);
        if matches!(*status, Status::Down(_) | Status::Stopped) {
            return;
        }
        *status = Status::Down(reason.to_owned());
        drop(status);
        tracing::warn!(redis = %self.config.redacted_url(), %reason, "group backend lost Redis; delivering locally until it is back");
        self.emit(&BackendEvent::Down {
            reason: reason.to_owned(),
        });
    }

    /// Reports outbox drops not reported yet.
    pub(crate) fn report_outbox_drops(&self) {
        let messages = self
            .counters
            .unreported_outbox_drops
            .swap(0, Ordering::Relaxed);
        if messages > 0 {
            tracing::warn!(
                messages,
                "group messages for other instances dropped: the outbox is full while Redis is unreachable"
            );
            self.emit(&BackendEvent::Dropped {
                messages,
                cause: DropCause::OutboxFull,
            });
        }
    }

    /// Reports messages another instance sent that never arrived here.
    pub(crate) fn report_lost(&self, messages: u64, channel: &str) {
        self.counters
            .dropped_not_received
            .fetch_add(messages, Ordering::Relaxed);
        tracing::warn!(messages, %channel, "group messages from another instance never arrived");
        self.emit(&BackendEvent::Dropped {
            messages,
            cause: DropCause::NotReceived,
        });
    }

    pub(crate) fn observe(&self, hooks: Arc<dyn Hooks>) {
        lock(&self.observers).push(hooks);
    }

    fn emit(&self, event: &BackendEvent) {
        let observers = lock(&self.observers).clone();
        for hooks in observers {
            if catch_unwind(AssertUnwindSafe(|| hooks.group_backend(event))).is_err() {
                tracing::error!("a hook panicked on a group backend event");
            }
        }
    }
}
