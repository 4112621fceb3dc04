//! The server the benchmarks measure: `add(a, b)` and `echo(s)` with the
//! default configuration, for any load tool (see `BENCHMARKS.md`), and
//! `sleep(ms)` for calls that take their time. The
//! `RPC_*` environment variables of `ServerConfig::from_env` change it, for
//! experiments.
//!
//! Run with: cargo run --release -p examples --example bench_server [-- --addr 127.0.0.1:9007]

use rpc_server::rpc_service;

struct Bench;

#[rpc_service]
impl Bench {
    /// `a + b`.
    async fn add(&self, a: u64, b: u64) -> u64 {
        a.wrapping_add(b)
    }

    /// `s`, back.
    async fn echo(&self, s: String) -> String {
        s
    }

    /// Answers after `ms` milliseconds: calls in flight, for the tests of
    /// shutting down.
    async fn sleep(&self, ms: u64) -> u64 {
        tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
        ms
    }
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let server = examples::server()
        .serve(examples::addr_from_args("127.0.0.1:9007"), Bench)?
        .with_graceful_shutdown(rpc_server::shutdown_signal());
    examples::announce(server.local_addr());
    server.await
}
