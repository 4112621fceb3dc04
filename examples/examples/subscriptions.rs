//! Subscriptions: a call answers with an id, then a stream of
//! notifications tagged with it, until the client unsubscribes or leaves.
//! The wire format is the one jsonrpsee and Ethereum clients speak.
//!
//! Run with: cargo run -p examples --example subscriptions [-- --addr 127.0.0.1:9008]
//!
//! A session (with `websocat ws://127.0.0.1:9008`):
//!
//! ```text
//! → {"jsonrpc":"2.0","method":"subscribe_counter","params":[5,500],"id":1}
//! ← {"jsonrpc":"2.0","result":"8d0f1f5c2b6e4a9d93c1e0b7a4f26d58","id":1}
//! ← {"jsonrpc":"2.0","method":"counter","params":{"subscription":"8d0f1f5c2b6e4a9d93c1e0b7a4f26d58","result":5}}
//! ← {"jsonrpc":"2.0","method":"counter","params":{"subscription":"8d0f1f5c2b6e4a9d93c1e0b7a4f26d58","result":6}}
//! → {"jsonrpc":"2.0","method":"unsubscribe_counter","params":["8d0f1f5c2b6e4a9d93c1e0b7a4f26d58"],"id":2}
//! ← {"jsonrpc":"2.0","result":true,"id":2}
//! ```

use std::time::Duration;

use futures_util::Stream;
use rpc_server::{RpcError, rpc_service};

struct Counters;

#[rpc_service]
impl Counters {
    /// Counts up from `start`, one number every `every_ms` milliseconds,
    /// as `counter` notifications, until `unsubscribe_counter`.
    #[rpc(subscription = "counter")]
    fn subscribe_counter(
        &self,
        start: u64,
        every_ms: u64,
    ) -> Result<impl Stream<Item = u64> + Send + 'static, RpcError> {
        if every_ms < 10 {
            return Err(RpcError::invalid_params("every_ms is 10 or more"));
        }
        let every = Duration::from_millis(every_ms);
        Ok(futures_util::stream::unfold(
            start,
            move |next| async move {
                tokio::time::sleep(every).await;
                Some((next, next + 1))
            },
        ))
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let server = examples::server()
        .serve(examples::addr_from_args("127.0.0.1:9008"), Counters)?
        .with_graceful_shutdown(rpc_server::shutdown_signal());
    examples::announce(server.local_addr());
    server.await?;
    Ok(())
}
