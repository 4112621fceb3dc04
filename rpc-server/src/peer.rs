//! The server's side of a `Peer`: notifications and calls to one client
//! over its connection, and its group memberships.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use rpc_core::{CallError, PeerFuture, PeerLink, PendingCalls, Response, request_frame};
use serde_json::value::RawValue;
use tokio::sync::Notify;
use tokio_tungstenite::tungstenite::Utf8Bytes;

use crate::groups::{GroupBackend, Member};
use crate::outgoing::Outgoing;

/// One connection's link to its client.
pub(crate) struct ServerLink {
    connection_id: u64,
    outgoing: Outgoing,
    /// Calls to the client waiting for their responses.
    pending: PendingCalls,
    call_timeout: Duration,
    groups: Arc<dyn GroupBackend>,
    joined: Mutex<BTreeSet<String>>,
    /// Rung when a broadcast found this client too slow.
    pub(crate) kick: Arc<Notify>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl ServerLink {
    pub(crate) fn new(
        connection_id: u64,
        outgoing: Outgoing,
        call_timeout: Duration,
        max_waiting: usize,
        groups: Arc<dyn GroupBackend>,
    ) -> Self {
        Self {
            connection_id,
            outgoing,
            pending: PendingCalls::new(max_waiting),
            call_timeout,
            groups,
            joined: Mutex::default(),
            kick: Arc::new(Notify::new()),
        }
    }

    /// Whether any call to the client awaits a response (so incoming frames
    /// are worth checking for one).
    pub(crate) fn expects_responses(&self) -> bool {
        !self.pending.is_empty()
    }

    /// Hands a response to the call waiting for it; false if none was.
    pub(crate) fn resolve(&self, response: Response<'_>) -> bool {
        self.pending.resolve(response)
    }

    /// The connection ended: fail waiting calls at once and leave every
    /// group.
    pub(crate) fn close(&self) {
        self.pending.fail_all();
        self.groups.leave_all(self.connection_id);
        lock(&self.joined).clear();
    }
}

impl PeerLink for ServerLink {
    fn send(&self, frame: String) -> PeerFuture<'_, Result<(), CallError>> {
        Box::pin(async move {
            self.outgoing
                .send(Utf8Bytes::from(frame))
                .await
                .map_err(|_| CallError::Closed)
        })
    }

    fn call(
        &self,
        method: &str,
        params: Option<Box<RawValue>>,
    ) -> PeerFuture<'_, Result<Box<RawValue>, CallError>> {
        let method = method.to_owned();
        Box::pin(async move {
            if self.outgoing.is_closed() {
                return Err(CallError::Closed);
            }
            let (id, pending) = self.pending.register()?;
            let frame = request_frame(&method, params.as_deref(), Some(id));
            if self.outgoing.send(Utf8Bytes::from(frame)).await.is_err() {
                self.pending.forget(id);
                return Err(CallError::Closed);
            }
            match tokio::time::timeout(self.call_timeout, pending).await {
                Ok(outcome) => outcome,
                Err(_) => {
                    self.pending.forget(id);
                    Err(CallError::Timeout(self.call_timeout))
                }
            }
        })
    }

    fn is_closed(&self) -> bool {
        self.outgoing.is_closed()
    }

    fn join(&self, group: &str) {
        if self.is_closed() {
            return;
        }
        let member = Member::new(
            self.connection_id,
            self.outgoing.clone(),
            Arc::clone(&self.kick),
        );
        self.groups.join(group, member);
        lock(&self.joined).insert(group.to_owned());
    }

    fn leave(&self, group: &str) {
        self.groups.leave(group, self.connection_id);
        lock(&self.joined).remove(group);
    }

    fn groups(&self) -> Vec<String> {
        lock(&self.joined).iter().cloned().collect()
    }

    fn broadcast(&self, group: &str, frame: String) -> usize {
        self.groups.broadcast(group, &Utf8Bytes::from(frame))
    }
}
