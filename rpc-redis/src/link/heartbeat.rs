//! The heartbeat, on a task of its own beside the link task: whatever the
//! link is busy with (a burst of joins, a catch-up), the instance keeps
//! saying it is alive, and the others keep counting its members.

use std::sync::Arc;

use redis::aio::MultiplexedConnection;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio::time::{MissedTickBehavior, interval};

use super::{registry, within};
use crate::shared::Shared;

/// The running heartbeat; it stops when dropped.
pub(super) struct Heartbeat {
    task: JoinHandle<()>,
    /// Why it failed, once it has: the link's cue to reconnect.
    pub(super) failed: oneshot::Receiver<String>,
}

impl Drop for Heartbeat {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Starts beating on `commands` (a clone of the link's multiplexed
/// connection: its commands do not wait behind the link's).
pub(super) fn start(shared: &Arc<Shared>, mut commands: MultiplexedConnection) -> Heartbeat {
    let (failing, failed) = oneshot::channel();
    let shared = Arc::clone(shared);
    let task = tokio::spawn(async move {
        let mut ticks = interval(shared.config.heartbeat);
        ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
        ticks.tick().await;
        loop {
            ticks.tick().await;
            let mut pipe = redis::pipe();
            registry::expire(&mut pipe, &shared);
            let beat = within(
                shared.config.response_timeout,
                pipe.exec_async(&mut commands),
            )
            .await;
            if let Err(reason) = beat {
                let _ = failing.send(reason);
                return;
            }
            shared.report_outbox_drops();
        }
    });
    Heartbeat { task, failed }
}
