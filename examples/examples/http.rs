//! The calculator over both transports on one port: WebSocket for
//! long-lived, two-way connections, and plain HTTP `POST /` for one-off
//! calls, with the API description at `GET /openrpc.json`.
//!
//! Run with: cargo run -p examples --example http [-- --addr 127.0.0.1:9006]
//!
//! Then, for example:
//!
//! ```text
//! curl -s http://127.0.0.1:9006/ -H 'content-type: application/json' \
//!      -d '{"jsonrpc":"2.0","method":"subtract","params":[42,23],"id":1}'
//! curl -s http://127.0.0.1:9006/openrpc.json
//! curl -s http://127.0.0.1:9006/health
//! ```

use rpc_server::connect::Transport;
use rpc_server::{RpcContext, RpcError, rpc_service};

struct Calc;

#[rpc_service(title = "Calculator over WebSocket and HTTP")]
impl Calc {
    /// Subtracts `subtrahend` from `minuend`.
    async fn subtract(&self, minuend: i64, subtrahend: i64) -> i64 {
        minuend - subtrahend
    }

    /// Divides `a` by `b`; dividing by zero is error 4000.
    #[rpc(name = "math.divide")]
    async fn divide(&self, a: f64, b: f64) -> Result<f64, RpcError> {
        if b == 0.0 {
            return Err(RpcError::new(4000, "division by zero"));
        }
        Ok(a / b)
    }

    /// Which transport the call came over.
    fn transport(&self, ctx: &RpcContext) -> &'static str {
        match ctx.connection().transport() {
            Transport::WebSocket => "websocket",
            Transport::Http => "http",
            _ => "other",
        }
    }
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let server = examples::server()
        .serve(examples::addr_from_args("127.0.0.1:9006"), Calc)?
        .with_graceful_shutdown(rpc_server::shutdown_signal());
    let addr = server.local_addr();
    examples::announce(addr);
    println!("and on http://{addr}/ (POST), http://{addr}/openrpc.json, http://{addr}/health");
    server.await
}
