//! The smallest service: `ping` → `"pong"`, the same method under a
//! dotted name, a method that fails on request, and a notification handler.
//!
//! Run with: cargo run -p examples --example ping [-- --addr 127.0.0.1:9002]

use std::sync::atomic::{AtomicU64, Ordering};

use rpc_server::{RpcError, rpc_service};

/// Counts the notifications it received.
#[derive(Default)]
struct Ping {
    heartbeats: AtomicU64,
}

#[rpc_service]
impl Ping {
    /// Answers `"pong"`.
    async fn ping(&self) -> &'static str {
        "pong"
    }

    /// `ping`, under a dotted name.
    #[rpc(name = "mymodule.rpc.ping")]
    async fn namespaced_ping(&self) -> &'static str {
        "pong"
    }

    /// Fails with an application error when asked to.
    async fn fail(&self, fail: bool) -> Result<&'static str, RpcError> {
        if fail {
            return Err(RpcError::application("failed as requested"));
        }
        Ok("did not fail")
    }

    /// A notification: counted, never answered.
    #[rpc(notification)]
    async fn heartbeat(&self) {
        self.heartbeats.fetch_add(1, Ordering::Relaxed);
    }

    /// How many heartbeats arrived.
    async fn heartbeats(&self) -> u64 {
        self.heartbeats.load(Ordering::Relaxed)
    }
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let server = examples::server()
        .serve(examples::addr_from_args("127.0.0.1:9002"), Ping::default())?
        .with_graceful_shutdown(rpc_server::shutdown_signal());
    examples::announce(server.local_addr());
    server.await
}
