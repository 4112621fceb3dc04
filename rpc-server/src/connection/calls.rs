//! Running what a connection receives: inline when it completes at once,
//! on a task of its own when it waits.

use std::future::Future as _;
use std::sync::Arc;
use std::task::{Context, Poll};

use rpc_core::calls::parse_response;
use rpc_core::{ConnectionInfo, ErrorCode, RpcError, Service};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio_tungstenite::tungstenite::{Bytes, Utf8Bytes};

use crate::outgoing::Outgoing;
use crate::peer::OwnedLink;
use crate::state::State;

/// The calls of one connection and what running them needs.
pub(super) struct Calls<S> {
    /// For the replies of calls on their own tasks.
    pub(super) outgoing: Outgoing,
    /// One permit per request running.
    pub(super) in_flight: Arc<Semaphore>,
    pub(super) tasks: JoinSet<()>,
    pub(super) state: Arc<State<S>>,
    pub(super) connection: Arc<ConnectionInfo>,
    /// Responses to the server's own calls go here, not to the protocol.
    pub(super) link: OwnedLink,
}

/// A received message holding JSON-RPC.
pub(super) enum Frame {
    Text(Utf8Bytes),
    Binary(Bytes),
}

impl<S: Service> Calls<S> {
    /// Runs one frame, or answers SERVER_OVERLOADED when
    /// `max_pending_requests` are already running. A response to one of the
    /// server's own calls goes to that call instead.
    ///
    /// Most calls complete on their first poll: their reply is returned, to
    /// be written right away. A call that has to wait goes on in a task of
    /// its own and sends its reply through the queue.
    pub(super) fn dispatch(&mut self, frame: Frame) -> Option<Utf8Bytes> {
        if self.link.expects_responses() {
            let text = match &frame {
                Frame::Text(text) => Some(text.as_str()),
                Frame::Binary(bytes) => std::str::from_utf8(bytes).ok(),
            };
            if let Some(response) = text.and_then(parse_response) {
                if !self.link.resolve(response) {
                    tracing::debug!("a response to no pending call was ignored");
                }
                return None;
            }
        }
        let Ok(permit) = Arc::clone(&self.in_flight).try_acquire_owned() else {
            let bytes = match &frame {
                Frame::Text(text) => text.as_bytes(),
                Frame::Binary(bytes) => bytes,
            };
            let overloaded = RpcError::from_code(ErrorCode::SERVER_OVERLOADED);
            return self
                .state
                .protocol
                .reject(bytes, &overloaded)
                .map(reply_text);
        };
        let state = Arc::clone(&self.state);
        let connection = Arc::clone(&self.connection);
        let mut running = Box::pin(async move {
            let protocol = &state.protocol;
            match &frame {
                Frame::Text(text) => protocol.handle(&state.service, text, &connection).await,
                Frame::Binary(bytes) => {
                    protocol
                        .handle_bytes(&state.service, bytes, &connection)
                        .await
                }
            }
        });
        let waker = futures_util::task::noop_waker_ref();
        match running.as_mut().poll(&mut Context::from_waker(waker)) {
            Poll::Ready(reply) => reply.map(reply_text),
            Poll::Pending => {
                let outgoing = self.outgoing.clone();
                self.tasks.spawn(async move {
                    if let Some(reply) = running.await {
                        let _ = outgoing.send(reply_text(reply)).await;
                    }
                    drop(permit);
                });
                None
            }
        }
    }
}

fn reply_text(reply: rpc_core::Reply) -> Utf8Bytes {
    Utf8Bytes::from(reply.into_string())
}
