//! The server the benchmarks measure: `add(a, b)` and `echo(s)` with the
//! default configuration, for any load tool (see `BENCHMARKS.md`). The
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
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let server = examples::server()
        .serve(examples::addr_from_args("127.0.0.1:9007"), Bench)
        .with_graceful_shutdown(examples::ctrl_c());
    examples::announce(server.local_addr()?);
    server.await
}
