//! The RPC endpoint mounted in an axum app: ordinary routes and JSON-RPC
//! (WebSocket and HTTP `POST`) on one port. The endpoint is a tower service
//! (`Server::builder().endpoint(…)`, the `axum` feature of rpc-server),
//! nested at `/rpc`; an axum handler pushes to the RPC clients.
//!
//! Run with: cargo run -p examples --example axum_app [-- --addr 127.0.0.1:9009]
//!
//! Then, for example:
//!
//! ```text
//! curl -s http://127.0.0.1:9009/
//! curl -s http://127.0.0.1:9009/rpc -H 'content-type: application/json' \
//!      -d '{"jsonrpc":"2.0","method":"subtract","params":[42,23],"id":1}'
//! curl -s http://127.0.0.1:9009/rpc/openrpc.json
//! rpc listen ws://127.0.0.1:9009/rpc --call subscribe '[]'   # in one terminal
//! curl -s -X POST http://127.0.0.1:9009/announce -d 'hello'  # in another
//! ```

use std::net::SocketAddr;

use axum::Router;
use axum::extract::State;
use axum::routing::{get, post};
use rpc_server::{Endpoint, RpcContext, RpcError, rpc_service};

/// The group that `/announce` reaches.
const ANNOUNCEMENTS: &str = "announcements";

struct Calc;

#[rpc_service(title = "Calculator in an axum app")]
impl Calc {
    /// Subtracts `subtrahend` from `minuend`.
    async fn subtract(&self, minuend: i64, subtrahend: i64) -> i64 {
        minuend - subtrahend
    }

    /// Receive what is POSTed to `/announce`, as `announcement`
    /// notifications.
    fn subscribe(&self, ctx: &RpcContext) -> Result<(), RpcError> {
        ctx.join(ANNOUNCEMENTS)
    }
}

/// `POST /announce`: an ordinary axum handler that pushes its body to every
/// subscribed RPC client, and says how many it reached.
async fn announce(State(rpc): State<Endpoint<Calc>>, text: String) -> String {
    match rpc.notify_group(ANNOUNCEMENTS, "announcement", [text]) {
        Ok(reached) => format!("sent to {reached}\n"),
        Err(err) => format!("not sent: {err}\n"),
    }
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let rpc = examples::server().endpoint(Calc);
    let app = Router::new()
        .route("/", get(|| async { "an axum app; JSON-RPC is at /rpc\n" }))
        .route("/announce", post(announce))
        .with_state(rpc.clone())
        .nest_service("/rpc", rpc.clone());
    let listener =
        tokio::net::TcpListener::bind(examples::addr_from_args("127.0.0.1:9009")).await?;
    let addr = listener.local_addr()?;
    println!("listening on ws://{addr}/rpc");
    println!("and on http://{addr}/ (axum), http://{addr}/rpc (POST)");
    let draining = rpc.clone();
    // With its connection info, the endpoint knows each client's address.
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async move {
        rpc_server::shutdown_signal().await;
        draining.shutdown();
    })
    .await?;
    // axum has answered its HTTP requests; the WebSockets drain here.
    rpc.stopped().await;
    Ok(())
}
