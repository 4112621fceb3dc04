//! Both sides serve methods: the client calls the server's `greet`, and
//! while answering, the server calls the client's `whoami` back over the
//! same connection.
//!
//! Run with: cargo run -p examples --example bidirectional [-- --addr 127.0.0.1:0]
//!
//! It starts the server, connects a client that serves `whoami`, makes the
//! round trip, prints what it got, and exits.

use rpc_client::Client;
use rpc_server::{RpcContext, RpcError, rpc_service};

/// The server's side.
struct Greeter;

#[rpc_service]
impl Greeter {
    /// Asks the caller who it is, then greets it.
    async fn greet(&self, ctx: &RpcContext) -> Result<String, RpcError> {
        let peer = ctx
            .peer()
            .ok_or_else(|| RpcError::application("needs a WebSocket"))?;
        let name: String = peer.call("whoami", ()).await?;
        Ok(format!("Hello, {name}!"))
    }
}

/// The client's side.
struct Me;

#[rpc_service]
impl Me {
    /// The client's name, for the server to ask.
    fn whoami(&self) -> &'static str {
        "the client"
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let server = examples::server()
        .serve(examples::addr_from_args("127.0.0.1:9005"), Greeter)?
        .spawn();
    examples::announce(server.local_addr());
    let client = Client::builder(&format!("ws://{}", server.local_addr()))
        .answer_server_calls(Me)
        .connect()
        .await?;
    let greeting: String = client.call("greet", ()).await?;
    println!("server said: {greeting}");
    client.close().await;
    server.shutdown_and_wait().await;
    Ok(())
}
