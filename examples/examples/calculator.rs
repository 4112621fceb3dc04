//! The README's calculator: a trait, its impl, `#[rpc_service]`, `serve`.
//!
//! Run with: cargo run -p examples --example calculator [-- --addr 127.0.0.1:9000]

use rpc_server::{RpcContext, RpcError, rpc_service};

/// A calculator, as a plain Rust trait. (A `pub` trait with `async fn`s
/// draws rustc's `async_fn_in_trait` lint; allow it, or keep the trait
/// private as here.)
trait Calculator {
    async fn add(&self, a: i64, b: i64) -> i64;
    async fn subtract(&self, minuend: i64, subtrahend: i64) -> i64;
    async fn divide(&self, a: f64, b: f64) -> Result<f64, RpcError>;
    async fn whoami(&self, ctx: &RpcContext) -> String;
    async fn log(&self, line: String);
}

/// The calculator's implementation.
struct Calc;

#[rpc_service(title = "Calculator")]
impl Calculator for Calc {
    /// Adds `a` and `b`.
    async fn add(&self, a: i64, b: i64) -> i64 {
        a + b
    }

    /// Subtracts `subtrahend` from `minuend`.
    async fn subtract(&self, minuend: i64, subtrahend: i64) -> i64 {
        minuend - subtrahend
    }

    /// Divides `a` by `b`; dividing by zero is error 4000.
    #[rpc(name = "math.divide", timeout = "2s")]
    async fn divide(&self, a: f64, b: f64) -> Result<f64, RpcError> {
        if b == 0.0 {
            return Err(RpcError::new(4000, "division by zero"));
        }
        Ok(a / b)
    }

    /// Says who is calling.
    async fn whoami(&self, ctx: &RpcContext) -> String {
        match ctx.remote_addr() {
            Some(addr) => format!("you are {addr}"),
            None => "you are in memory".to_owned(),
        }
    }

    /// Prints a line on the server.
    #[rpc(notification)]
    async fn log(&self, line: String) {
        println!("client says: {line}");
    }
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let server = examples::server()
        .serve(examples::addr_from_args("127.0.0.1:9000"), Calc)?
        .with_graceful_shutdown(rpc_server::shutdown_signal());
    let addr = server.local_addr();
    examples::announce(addr);
    println!("call it with any WebSocket client, for example:");
    println!("  websocat ws://{addr}");
    println!(r#"  {{"jsonrpc":"2.0","method":"subtract","params":[42,23],"id":1}}"#);
    println!(r#"  {{"jsonrpc":"2.0","method":"math.divide","params":{{"a":1,"b":4}},"id":2}}"#);
    println!(r#"  {{"jsonrpc":"2.0","method":"rpc.discover","id":3}}"#);
    server.await
}
