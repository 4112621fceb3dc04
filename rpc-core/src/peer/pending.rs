//! Calls to the other side waiting for their responses, matched by id.
//! Shared by the server's `Peer` link and the client.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::task::{Context, Poll};

use futures_channel::oneshot;
use serde_json::value::RawValue;

use crate::peer::{CallError, Response};

/// What a call gets back: the raw `result`, or why there is none.
pub type CallOutcome = Result<Box<RawValue>, CallError>;

/// The calls one side has sent and not yet had answered, by the numeric id
/// it gave them. Only responses are matched here, never the other side's
/// own requests, so equal ids from both sides cannot mix.
#[derive(Debug)]
pub struct PendingCalls {
    waiting: Mutex<HashMap<u64, oneshot::Sender<CallOutcome>>>,
    next_id: AtomicU64,
    max: usize,
}

impl PendingCalls {
    /// No calls yet; at most `max` may wait at once.
    pub fn new(max: usize) -> Self {
        Self {
            waiting: Mutex::default(),
            next_id: AtomicU64::new(1),
            max,
        }
    }

    fn waiting(&self) -> MutexGuard<'_, HashMap<u64, oneshot::Sender<CallOutcome>>> {
        self.waiting
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Registers a call: its id, and what resolves with its outcome.
    /// [`CallError::Overloaded`] when `max` calls already wait.
    pub fn register(&self) -> Result<(u64, PendingCall), CallError> {
        let mut waiting = self.waiting();
        if waiting.len() >= self.max {
            return Err(CallError::Overloaded);
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        waiting.insert(id, tx);
        Ok((id, PendingCall(rx)))
    }

    /// Drops a call (it timed out, or could not be sent).
    pub fn forget(&self, id: u64) {
        self.waiting().remove(&id);
    }

    /// Hands a response to the call waiting for it; false if none was.
    pub fn resolve(&self, response: Response<'_>) -> bool {
        let Some(waiting) = response
            .numeric_id()
            .and_then(|id| self.waiting().remove(&id))
        else {
            return false;
        };
        let outcome = match response.outcome {
            Ok(result) => Ok(result.to_owned()),
            Err(error) => Err(CallError::Remote(error)),
        };
        let _ = waiting.send(outcome);
        true
    }

    /// The connection is gone: every waiting call fails now with
    /// [`CallError::Closed`].
    pub fn fail_all(&self) {
        self.waiting().clear();
    }

    /// Whether any call waits (so incoming frames are worth checking for a
    /// response).
    pub fn is_empty(&self) -> bool {
        self.waiting().is_empty()
    }
}

/// Resolves with a registered call's outcome; [`CallError::Closed`] if the
/// connection went away first.
#[derive(Debug)]
#[must_use = "a pending call does nothing unless awaited"]
pub struct PendingCall(oneshot::Receiver<CallOutcome>);

impl Future for PendingCall {
    type Output = CallOutcome;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<CallOutcome> {
        Pin::new(&mut self.0)
            .poll(cx)
            .map(|outcome| outcome.unwrap_or(Err(CallError::Closed)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::peer::parse_response;

    #[test]
    fn responses_reach_their_calls_and_nothing_else() {
        let pending = PendingCalls::new(2);
        let (first, call) = pending.register().unwrap();
        let (second, other) = pending.register().unwrap();
        assert!(matches!(pending.register(), Err(CallError::Overloaded)));
        let text = format!(r#"{{"jsonrpc":"2.0","result":[7],"id":{second}}}"#);
        assert!(pending.resolve(parse_response(&text).unwrap()));
        assert!(
            !pending.resolve(parse_response(&text).unwrap()),
            "answered once"
        );
        let outcome = futures_executor::block_on(other).unwrap();
        assert_eq!(outcome.get(), "[7]");
        // A dropped connection fails what still waits.
        pending.fail_all();
        assert!(matches!(
            futures_executor::block_on(call),
            Err(CallError::Closed)
        ));
        assert!(pending.is_empty());
        assert_ne!(first, second);
    }
}
