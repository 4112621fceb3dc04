//! Several `rpc-server` instances, one set of groups: server push across
//! instances on Redis pub/sub.
//!
//! Give each instance a [`RedisGroups`] on the same Redis, and
//! `notify_group` reaches the group's members on every instance,
//! `notify_connection` reaches a client wherever it is connected, and
//! counts cover them all. A process that serves nothing (a worker, a cron
//! job) pushes with a `RedisGroups` of its own.
//!
//! ```no_run
//! use rpc_redis::RedisGroups;
//! use rpc_server::{rpc_service, RpcContext, Server};
//!
//! struct Chat;
//!
//! #[rpc_service]
//! impl Chat {
//!     fn join(&self, ctx: &RpcContext, room: String) -> Result<(), rpc_server::RpcError> {
//!         ctx.join(&room)
//!     }
//!
//!     fn say(&self, ctx: &RpcContext, room: String, text: String) -> Result<(), rpc_server::RpcError> {
//!         if let Some(peer) = ctx.peer() {
//!             peer.notify_group(&room, "message", [text])?;
//!         }
//!         Ok(())
//!     }
//! }
//!
//! #[tokio::main]
//! async fn main() -> std::io::Result<()> {
//!     // Returns at once: the backend connects (and reconnects) on its own task.
//!     let groups = RedisGroups::connect("redis://127.0.0.1:6379").map_err(std::io::Error::other)?;
//!     Server::builder().groups(groups).serve("127.0.0.1:9000", Chat)?.await
//! }
//! ```
//!
//! A publisher without a server:
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use std::time::Duration;
//! let groups = rpc_redis::RedisGroups::connect("redis://127.0.0.1:6379")?;
//! groups.wait_connected(Duration::from_secs(2)).await;
//! groups.notify_group("room", "message", serde_json::json!({"text": "maintenance at noon"}))?;
//! // Before exiting: let the outbox reach Redis, and leave cleanly.
//! groups.shutdown().await;
//! # Ok(())
//! # }
//! ```
//!
//! # How it works
//!
//! - A broadcast is delivered to this instance's members at once, on the
//!   caller's task, and queued once (serialized once) for Redis: the
//!   backend's own task publishes it on the group's channel. Every other
//!   instance with members in the group is subscribed to that channel and
//!   delivers it to its members; the instance that published ignores its
//!   own message, so nobody gets it twice.
//! - An instance subscribes to a group's channel when the group gets its
//!   first member there, and unsubscribes when the last one leaves. A member
//!   hears messages published after its instance's subscription is
//!   confirmed, at most one Redis round trip after it joined; an instance's
//!   count is written after that confirmation, so a member visible in
//!   [`member_count`](rpc_server::groups::GroupBackend::member_count) hears the group.
//! - Connection ids ([`ConnectionId`]) name the instance holding the
//!   connection; `notify_connection` to another instance's connection goes
//!   on that instance's own channel.
//! - Counts: each instance keeps its members per group, and each
//!   connection's groups, in Redis under keys that expire
//!   ([`RedisConfig::expiry`]) unless its heartbeat refreshes them. A live
//!   member never expires; an instance that dies without cleaning up leaves
//!   the counts within the expiry. One that stops cleanly leaves at once.
//!
//! # Guarantees, and what is not guaranteed
//!
//! - **Order:** the messages one sender sends to a group arrive at each
//!   member in the order sent, where one sender is one task (or several
//!   whose sends the application orders) on one instance or publisher.
//!   Messages from different senders, two tasks of one instance included,
//!   may interleave differently at different members.
//! - **At most once:** no member gets a message twice.
//! - **Nothing lost silently:** while Redis is unreachable, calls and local
//!   delivery go on (in groups without history: a group with history waits
//!   for Redis to give each message its position, below), `GET /health`
//!   answers `200 degraded: …`, and messages
//!   for other instances wait in an outbox ([`RedisConfig::max_outbox_bytes`])
//!   until the backend has reconnected (with backoff) and resubscribed.
//!   Past that bound new messages are dropped. Every drop is counted
//!   ([`RedisGroups::stats`]), logged, and reported to the server's
//!   [`Hooks::group_backend`]: the
//!   instance whose outbox overflowed reports
//!   [`DropCause::OutboxFull`](rpc_server::hooks::DropCause::OutboxFull), and an
//!   instance that did not receive messages another published (Redis
//!   pub/sub keeps nothing for a subscriber that is away) sees the gap in
//!   that sender's numbering and reports
//!   [`DropCause::NotReceived`](rpc_server::hooks::DropCause::NotReceived) when
//!   the sender's next message arrives. `BackendEvent::Down` and `Up`
//!   tell an application when to have its clients resync.
//! - **Slow members:** a remote message is delivered like a local one: a
//!   member that does not drain its queue meets the server's slow-member
//!   policy.
//!
//! # Groups with history
//!
//! [`RedisConfig::history`] (`RPC_REDIS_HISTORY=room:*=1000/10m`) names the
//! groups that keep their messages in Redis, a stream per group. One Lua
//! script stores a message, gives it its position (the history's epoch and
//! the next offset) and publishes it, so a position exists before anyone
//! hears the message, and every instance hears them in offset order. For
//! such groups:
//!
//! - **Every member here gets each message once, in offset order**, the
//!   sending instance's own members included: they get it when it comes
//!   back from Redis, one round trip after it was sent (while Redis is
//!   away, not before it is back; `notify_group` returns how many members
//!   here will get it then).
//! - **Nothing is lost across a Redis blip:** messages sent while Redis is
//!   away wait in the outbox and are sent after the reconnect (stored once,
//!   even when a first try's answer was lost); an instance reads what its
//!   members missed from the streams after a reconnect, or when it sees
//!   offset N+2 after N, and delivers it before newer messages.
//! - **Followers recover:** `group_stream_since` reads the stream after the
//!   client's `since`. A Redis that lost its data (a restart without
//!   persistence, a flush) starts a new epoch, and followers are told they
//!   could not recover.
//! - A group idle for longer than its `max_age` loses its history and its
//!   counter (they expire in Redis).
//!
//! # Settings
//!
//! [`RedisConfig`] (and `RPC_REDIS_*` variables, [`RedisConfig::from_env`]):
//! the URL, a prefix for every key and channel so that applications can
//! share a Redis, heartbeat and expiry, the outbox bound, timeouts, the
//! groups that keep history. With the
//! `tls` feature, `rediss://` URLs connect over TLS (rustls).

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use rpc_server::CallError;
use rpc_server::connect::ConnectionId;
use rpc_server::groups::{
    BackendError, BackendFuture, BackendHealth, BackendTraffic, Frame, GroupBackend, HistoryPage,
    InstanceId, Member,
};
use rpc_server::hooks::Hooks;

mod config;
mod history;
mod link;
mod outbox;
mod queries;
mod sequence;
mod shared;
mod wire;

pub use config::RedisConfig;

use shared::{Shared, Status, lock};

/// Groups and push across every instance on one Redis: a
/// [`GroupBackend`] for `Server::builder().groups(…)`, and a publisher on
/// its own. Cheap to clone; the backend stops (and removes this instance
/// from Redis) when the last clone is dropped, or at
/// [`shutdown`](Self::shutdown).
#[derive(Clone)]
pub struct RedisGroups {
    shared: Arc<Shared>,
    _owner: Arc<Owner>,
}

/// Stops the link task when the last handle goes.
struct Owner(Arc<Shared>);

impl Drop for Owner {
    fn drop(&mut self) {
        self.0.request_stop();
    }
}

/// What a backend has done since it started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Messages published to Redis.
    pub published: u64,
    /// Messages from other instances received.
    pub received: u64,
    /// Messages this instance dropped because its outbox was full while
    /// Redis was unreachable.
    pub dropped_outbox: u64,
    /// Messages other instances sent that never arrived here.
    pub dropped_not_received: u64,
    /// Times the link came back after an outage.
    pub reconnects: u64,
}

impl RedisGroups {
    /// A backend on the Redis at `url` (`redis://[user:password@]host:port[/db]`),
    /// with the other settings at their defaults. Returns at once; the
    /// connection is made on the backend's own task (on the current tokio
    /// runtime), and made again whenever it is lost. Only a malformed URL,
    /// or no tokio runtime to run on, is an error.
    pub fn connect(url: &str) -> Result<Self, BackendError> {
        Self::with_config(RedisConfig::new(url))
    }

    /// A backend with these settings (see [`connect`](Self::connect)).
    pub fn with_config(config: RedisConfig) -> Result<Self, BackendError> {
        config.check().map_err(BackendError)?;
        let client = client(&config)?;
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| {
            BackendError("RedisGroups runs on a tokio runtime: create it inside one".to_owned())
        })?;
        let shared = Arc::new(Shared::new(config, client));
        let task = runtime.spawn(link::run(Arc::clone(&shared)));
        *lock(&shared.task) = Some(task);
        Ok(Self {
            _owner: Arc::new(Owner(Arc::clone(&shared))),
            shared,
        })
    }

    /// The settings it runs with.
    pub fn config(&self) -> &RedisConfig {
        &self.shared.config
    }

    /// Whether the link to Redis is up.
    pub fn is_connected(&self) -> bool {
        self.shared.status() == Status::Up
    }

    /// Waits up to `limit` for the link to be up; whether it is.
    pub async fn wait_connected(&self, limit: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + limit;
        while !self.is_connected() {
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        true
    }

    /// Sends a notification to every member of `group` on every instance;
    /// the payload is serialized once. Returns how many members on this
    /// instance it was queued for (none, in a process without a server).
    pub fn notify_group(
        &self,
        group: &str,
        method: &str,
        params: impl serde::Serialize,
    ) -> Result<usize, CallError> {
        Ok(self.broadcast(group, &Frame::notification(method, params)?))
    }

    /// Sends a notification to one connection on whichever instance holds
    /// it. Returns false when it certainly did not reach it (a connection
    /// of this instance that is gone); a message for another instance is
    /// queued for Redis, and true.
    pub fn notify_connection(
        &self,
        id: ConnectionId,
        method: &str,
        params: impl serde::Serialize,
    ) -> Result<bool, CallError> {
        Ok(GroupBackend::notify_connection(
            self,
            id,
            &Frame::notification(method, params)?,
        ))
    }

    /// Waits up to `limit` until every message queued so far has been
    /// handed to Redis; true if all were (false on timeout, or if some were
    /// lost with a batch that failed).
    pub async fn flush(&self, limit: Duration) -> bool {
        let counters = &self.shared.counters;
        let target = counters.queued.load(Ordering::Relaxed);
        let failed_before = counters.failed.load(Ordering::Relaxed);
        self.shared.wake.notify_one();
        let settled = tokio::time::timeout(limit, async {
            loop {
                let mut changed = std::pin::pin!(self.shared.flushed.notified());
                changed.as_mut().enable();
                if counters.settled.load(Ordering::Acquire) >= target
                    || self.shared.status() == Status::Stopped
                {
                    return;
                }
                changed.await;
            }
        })
        .await;
        settled.is_ok()
            && counters.settled.load(Ordering::Acquire) >= target
            && counters.failed.load(Ordering::Relaxed) == failed_before
    }

    /// Publishes what is queued (within the response timeout), removes
    /// this instance's entries from Redis, and stops the link task. Pushes
    /// after it reach local members only; what they would have sent to
    /// other instances is counted as dropped.
    pub async fn shutdown(&self) {
        if self.is_connected() {
            self.flush(self.shared.config.response_timeout).await;
        }
        self.shared.request_stop();
        let task = lock(&self.shared.task).take();
        if let Some(task) = task {
            // Bounded: each command it still sends has the response timeout.
            let _ = tokio::time::timeout(self.shared.config.response_timeout * 4, task).await;
        }
    }

    /// Counts of what the backend has done.
    pub fn stats(&self) -> Stats {
        let counters = &self.shared.counters;
        Stats {
            published: counters.published.load(Ordering::Relaxed),
            received: counters.received.load(Ordering::Relaxed),
            dropped_outbox: counters.dropped_outbox.load(Ordering::Relaxed),
            dropped_not_received: counters.dropped_not_received.load(Ordering::Relaxed),
            reconnects: counters.reconnects.load(Ordering::Relaxed),
        }
    }
}

/// The Redis client for `config`: its URL, and the roots it trusts for
/// `rediss://`.
fn client(config: &RedisConfig) -> Result<redis::Client, BackendError> {
    let invalid =
        |err: redis::RedisError| BackendError(format!("Redis at {}: {err}", config.redacted_url()));
    let Some(ca) = &config.tls_ca else {
        return redis::Client::open(config.url.as_str()).map_err(invalid);
    };
    #[cfg(feature = "tls")]
    {
        let root_cert = std::fs::read(ca)
            .map_err(|err| BackendError(format!("cannot read {}: {err}", ca.display())))?;
        let certificates = redis::TlsCertificates {
            client_tls: None,
            root_cert: Some(root_cert),
        };
        redis::Client::build_with_tls(config.url.as_str(), certificates).map_err(invalid)
    }
    #[cfg(not(feature = "tls"))]
    Err(BackendError(format!(
        "tls_ca ({}) needs rpc-redis's `tls` feature",
        ca.display()
    )))
}

impl GroupBackend for RedisGroups {
    fn instance(&self) -> InstanceId {
        self.shared.instance
    }

    fn connected(&self, member: &Member) {
        self.shared.local.connected(member);
    }

    fn disconnected(&self, id: ConnectionId) {
        let groups = self.shared.local.local_groups(id);
        self.shared.local.disconnected(id);
        for group in &groups {
            self.shared.mark(group, id);
        }
    }

    fn join(&self, group: &str, id: ConnectionId) {
        self.shared.local.join(group, id);
        self.shared.mark(group, id);
    }

    fn leave(&self, group: &str, id: ConnectionId) {
        self.shared.local.leave(group, id);
        self.shared.mark(group, id);
    }

    fn broadcast(&self, group: &str, frame: &Frame) -> usize {
        let channel = self.shared.keys.group_channel(group);
        match self.shared.config.history.for_group(group) {
            // Its position comes from Redis: members here get it when it
            // comes back, in the order of positions, like everyone else.
            Some(history) => {
                self.shared.publish(channel, None, frame, Some(history));
                self.shared.local.local_len(group)
            }
            None => {
                let delivered = self.shared.local.broadcast(group, frame);
                self.shared.publish(channel, None, frame, None);
                delivered
            }
        }
    }

    fn notify_connection(&self, id: ConnectionId, frame: &Frame) -> bool {
        if id.instance() == self.shared.instance {
            return self.shared.local.notify_connection(id, frame);
        }
        let channel = self.shared.keys.connection_channel(id.instance());
        self.shared.publish(channel, Some(id.number()), frame, None);
        true
    }

    fn local_len(&self, group: &str) -> usize {
        self.shared.local.local_len(group)
    }

    fn local_groups(&self, id: ConnectionId) -> Vec<String> {
        self.shared.local.local_groups(id)
    }

    fn local_membership(&self, id: ConnectionId, group: &str) -> (usize, bool) {
        self.shared.local.local_membership(id, group)
    }

    fn member_count<'a>(
        &'a self,
        group: &'a str,
    ) -> BackendFuture<'a, Result<usize, BackendError>> {
        Box::pin(self.shared.member_count(group))
    }

    fn groups_of(&self, id: ConnectionId) -> BackendFuture<'_, Result<Vec<String>, BackendError>> {
        Box::pin(self.shared.groups_of(id))
    }

    fn read_history<'a>(
        &'a self,
        group: &'a str,
        after: u64,
        limit: usize,
    ) -> BackendFuture<'a, Result<Option<HistoryPage>, BackendError>> {
        Box::pin(self.shared.read_history(group, after, limit))
    }

    fn health(&self) -> BackendHealth {
        self.shared.health()
    }

    fn observe(&self, hooks: Arc<dyn Hooks>) {
        self.shared.observe(hooks);
    }

    fn traffic(&self) -> Option<BackendTraffic> {
        let stats = self.stats();
        let mut traffic = BackendTraffic::default();
        traffic.published = stats.published;
        traffic.received = stats.received;
        traffic.dropped = stats.dropped_outbox + stats.dropped_not_received;
        traffic.reconnects = stats.reconnects;
        Some(traffic)
    }
}

impl fmt::Debug for RedisGroups {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisGroups")
            .field("instance", &self.shared.instance)
            .field("redis", &self.shared.config.redacted_url())
            .field("status", &self.shared.status())
            .finish_non_exhaustive()
    }
}
