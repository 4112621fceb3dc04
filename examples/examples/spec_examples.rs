//! The JSON-RPC 2.0 specification's example methods, for tests and tools to
//! point at: `subtract` (by position and by name), `sum` (any number of
//! numbers), the notifications `update`, `notify_hello` and `notify_sum`,
//! and `get_data`.
//!
//! Run with: cargo run -p examples --example spec_examples [-- --addr 127.0.0.1:9001]
//!
//! Like every example, it reads the `RPC_*` environment variables of
//! `ServerConfig::from_env`: with `RPC_JSONRPC1=true` it answers JSON-RPC
//! 1.0 requests too (`{"method":"subtract","params":[42,23],"id":1}` →
//! `{"result":19,"error":null,"id":1}`).

use rpc_server::{Params, RpcError, rpc_service};

/// The specification's example service.
struct Spec;

#[rpc_service(title = "JSON-RPC 2.0 specification examples")]
impl Spec {
    /// `minuend - subtrahend`.
    async fn subtract(&self, minuend: i64, subtrahend: i64) -> i64 {
        minuend - subtrahend
    }

    /// The sum of any number of numbers, by position.
    fn sum(&self, numbers: Params<'_>) -> Result<f64, RpcError> {
        Ok(numbers.parse::<Vec<f64>>()?.iter().sum())
    }

    /// Accepts anything; answers nothing.
    #[rpc(notification)]
    fn update(&self, _values: Params<'_>) {}

    /// Accepts a number; answers nothing.
    #[rpc(notification)]
    fn notify_hello(&self, _value: i64) {}

    /// Accepts numbers; answers nothing.
    #[rpc(notification)]
    fn notify_sum(&self, _numbers: Params<'_>) {}

    /// `["hello", 5]`.
    fn get_data(&self) -> (&'static str, u32) {
        ("hello", 5)
    }
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let server = examples::server()
        .serve(examples::addr_from_args("127.0.0.1:9001"), Spec)?
        .with_graceful_shutdown(rpc_server::shutdown_signal());
    examples::announce(server.local_addr());
    server.await
}
