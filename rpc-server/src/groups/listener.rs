//! A member of one group that is not a connection: what the group is sent
//! comes out as a stream (`Peer::group_stream`), so that a subscription
//! can follow a room on whichever backend holds the groups.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures_util::Stream;
use rpc_core::ConnectionId;

use super::{GroupBackend, Member, SlowMemberPolicy};
use crate::outgoing::{self, OutgoingBudget, Queue};

/// Listens to one group until dropped.
pub(crate) struct Listener {
    id: ConnectionId,
    queue: Queue,
    groups: Arc<dyn GroupBackend>,
}

impl Listener {
    /// A new member of `group`, holding at most `budget` bytes that were
    /// sent and not yet taken (past that, messages are dropped for it).
    pub(crate) fn join(group: &str, groups: &Arc<dyn GroupBackend>, budget: usize) -> Self {
        // Not a connection: nothing of it is written to a socket, so it has
        // no share of the server's outgoing budget; its own bounds it.
        let account = OutgoingBudget::new(usize::MAX).account();
        let (outgoing, queue) = outgoing::channel(budget, account);
        let id = ConnectionId::next(groups.instance());
        groups.connected(&Member::new(id, outgoing, SlowMemberPolicy::DropMessage));
        groups.join(group, id);
        Self {
            id,
            queue,
            groups: Arc::clone(groups),
        }
    }
}

impl Stream for Listener {
    type Item = String;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<String>> {
        self.queue
            .poll_recv(cx)
            .map(|frame| Some(frame.as_str().to_owned()))
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.groups.disconnected(self.id);
    }
}
