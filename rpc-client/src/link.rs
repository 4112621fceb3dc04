//! The client's side of a `Peer`: what its served methods use to reach the
//! server.

use rpc_core::CallError;
use rpc_core::calls::{PeerFuture, PeerLink};
use serde_json::value::RawValue;

use crate::client::Client;
use crate::state::ConnectionState;

pub(crate) struct ClientLink {
    client: Client,
}

impl ClientLink {
    pub(crate) fn new(client: Client) -> Self {
        Self { client }
    }
}

impl PeerLink for ClientLink {
    fn send(&self, frame: String) -> PeerFuture<'_, Result<(), CallError>> {
        Box::pin(self.client.send_raw(frame))
    }

    fn call(
        &self,
        method: &str,
        params: Option<Box<RawValue>>,
    ) -> PeerFuture<'_, Result<Box<RawValue>, CallError>> {
        let method = method.to_owned();
        Box::pin(async move { self.client.call_raw(&method, params).await })
    }

    fn is_closed(&self) -> bool {
        self.client.state() != ConnectionState::Connected
    }
}
