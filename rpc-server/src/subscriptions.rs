//! A connection's open subscriptions: each one a task that sends the
//! subscribe call's reply and then the stream's notifications through the
//! connection's queue (so no item overtakes the reply), ended by the
//! client's unsubscribe, by the stream's end or with the connection.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

use futures_util::StreamExt as _;
use rpc_core::{ErrorCode, RpcError, Subscription, dropped_frame};
use tokio::task::AbortHandle;
use tokio_tungstenite::tungstenite::Utf8Bytes;

use crate::config::ServerConfig;
use crate::groups::SlowMemberPolicy;
use crate::outgoing::{Outgoing, TrySendError};

/// The open subscriptions of one connection.
pub(crate) struct Subscriptions {
    open: Mutex<Open>,
    max: usize,
    policy: SlowMemberPolicy,
    notice_timeout: Duration,
}

#[derive(Default)]
struct Open {
    /// By id: what its notifications are called, and its task.
    tasks: HashMap<Box<str>, (&'static str, AbortHandle)>,
    /// Set once the connection has ended: nothing more opens.
    closed: bool,
}

impl Subscriptions {
    pub(crate) fn new(config: &ServerConfig) -> Arc<Self> {
        Arc::new(Self {
            open: Mutex::default(),
            max: config.max_subscriptions_per_connection,
            policy: config.slow_member_policy,
            notice_timeout: config.peer_call_timeout,
        })
    }

    fn open(&self) -> MutexGuard<'_, Open> {
        self.open
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Starts sending `subscription` to the client through `outgoing`.
    pub(crate) fn start(
        self: &Arc<Self>,
        subscription: Subscription,
        outgoing: Outgoing,
    ) -> Result<(), RpcError> {
        let notification = subscription.notification();
        let mut open = self.open();
        if open.closed {
            return Err(RpcError::internal("the connection is closed"));
        }
        if open.tasks.len() >= self.max {
            return Err(
                RpcError::from_code(ErrorCode::REQUEST_TOO_LARGE).with_data(&format!(
                    "a connection has {} subscriptions open at most",
                    self.max
                )),
            );
        }
        let (id, reply, frames) = subscription.into_parts();
        let id: Box<str> = id.into();
        let sending = Sending {
            id: id.clone(),
            notification,
            outgoing,
            policy: self.policy,
            notice_timeout: self.notice_timeout,
            subscriptions: Arc::downgrade(self),
        };
        // Registered before the task can end and unregister itself.
        let task = tokio::spawn(sending.run(Utf8Bytes::from(reply), frames));
        open.tasks.insert(id, (notification, task.abort_handle()));
        Ok(())
    }

    /// Ends the subscription `id` if it sends `notification`; whether it
    /// was open.
    pub(crate) fn stop(&self, notification: &str, id: &str) -> bool {
        let task = {
            let mut open = self.open();
            match open.tasks.get(id) {
                Some((sends, _)) if *sends == notification => {}
                _ => return false,
            }
            open.tasks.remove(id)
        };
        if let Some((_, task)) = task {
            // Drops the stream at once.
            task.abort();
        }
        true
    }

    /// The connection has ended: every stream is dropped, and nothing more
    /// opens.
    pub(crate) fn close(&self) {
        let tasks = {
            let mut open = self.open();
            open.closed = true;
            std::mem::take(&mut open.tasks)
        };
        for (_, task) in tasks.into_values() {
            task.abort();
        }
    }

    fn finished(&self, id: &str) {
        self.open().tasks.remove(id);
    }
}

/// One subscription's task.
struct Sending {
    id: Box<str>,
    notification: &'static str,
    outgoing: Outgoing,
    policy: SlowMemberPolicy,
    /// How long the last notice of dropped items waits for room.
    notice_timeout: Duration,
    subscriptions: Weak<Subscriptions>,
}

impl Sending {
    async fn run(self, reply: Utf8Bytes, mut frames: rpc_core::Frames) {
        // However it ends (a panicking stream included), it leaves the table.
        let _finished = Finished {
            id: &self.id,
            subscriptions: &self.subscriptions,
        };
        // The reply waits for room like any other; the items do not.
        let mut dropped = 0;
        if self.outgoing.send(reply).await.is_ok() {
            while let Some(frame) = frames.next().await {
                // A stream that is always ready must still let the task be
                // aborted (unsubscribe) and others run.
                tokio::task::consume_budget().await;
                if dropped > 0 {
                    let notice = dropped_frame(self.notification, &self.id, dropped);
                    match self.outgoing.try_send(Utf8Bytes::from(notice)) {
                        Ok(()) => dropped = 0,
                        Err(TrySendError::Full) => {}
                        Err(TrySendError::Closed) => break,
                    }
                }
                if dropped > 0 {
                    dropped += 1;
                    continue;
                }
                match self.outgoing.try_send(Utf8Bytes::from(frame)) {
                    Ok(()) => {}
                    Err(TrySendError::Full) => match self.policy {
                        SlowMemberPolicy::Disconnect => {
                            self.outgoing.close_as_too_slow();
                            break;
                        }
                        SlowMemberPolicy::DropMessage => dropped += 1,
                    },
                    Err(TrySendError::Closed) => break,
                }
            }
        }
        // Ended by the stream, or by the connection going.
        drop(frames);
        if dropped > 0 {
            // The last word: what was missed at the end. It waits for room,
            // as long as a push to a slow client may.
            let notice = dropped_frame(self.notification, &self.id, dropped);
            let _ = tokio::time::timeout(
                self.notice_timeout,
                self.outgoing.send(Utf8Bytes::from(notice)),
            )
            .await;
        }
    }
}

/// Takes a subscription out of its connection's table when its task ends.
struct Finished<'a> {
    id: &'a str,
    subscriptions: &'a Weak<Subscriptions>,
}

impl Drop for Finished<'_> {
    fn drop(&mut self) {
        if let Some(subscriptions) = self.subscriptions.upgrade() {
            subscriptions.finished(self.id);
        }
    }
}
