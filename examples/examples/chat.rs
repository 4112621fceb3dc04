//! A chat server: clients join rooms, and a message from one reaches every
//! member of the room through `notify_group` (serialized once per message).
//!
//! Run with: cargo run -p examples --example chat [-- --addr 127.0.0.1:9004]
//!
//! Clients call `join` with `{"room": "…", "name": "…"}`, then `say` with
//! `{"room": "…", "text": "…"}`; members receive `message` notifications
//! `{"room", "from", "text"}`.

use rpc_server::{Admission, RpcContext, RpcError, Server, rpc_service};
use serde_json::json;

/// Who a connection said it was, per room it joined.
struct Name(std::sync::Mutex<String>);

struct Chat;

#[rpc_service(title = "chat")]
impl Chat {
    /// Joins `room` as `name`; returns how many are in it now.
    fn join(&self, ctx: &RpcContext, room: String, name: String) -> Result<usize, RpcError> {
        ctx.join(&room);
        if let Some(known) = ctx.extensions().get::<Name>() {
            *known.0.lock().map_err(RpcError::internal)? = name.clone();
        }
        let peer = ctx
            .peer()
            .ok_or_else(|| RpcError::application("chat needs a WebSocket"))?;
        peer.notify_group(
            &room,
            "message",
            json!({"room": room, "from": "server", "text": format!("{name} joined")}),
        )?;
        Ok(peer.groups().len())
    }

    /// Leaves `room`.
    fn leave(&self, ctx: &RpcContext, room: String) {
        ctx.leave(&room);
    }

    /// Sends `text` to everyone in `room`; returns how many it reached.
    fn say(&self, ctx: &RpcContext, room: String, text: String) -> Result<usize, RpcError> {
        let from = ctx
            .extensions()
            .get::<Name>()
            .and_then(|name| name.0.lock().ok().map(|name| name.clone()))
            .unwrap_or_default();
        let peer = ctx
            .peer()
            .ok_or_else(|| RpcError::application("chat needs a WebSocket"))?;
        Ok(peer.notify_group(
            &room,
            "message",
            json!({"room": room, "from": from, "text": text}),
        )?)
    }
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let server = Server::builder()
        // Every connection gets a slot for its name.
        .on_connect(|_request| async { Ok(Admission::new().insert(Name(Default::default()))) })
        .serve(examples::addr_from_args("127.0.0.1:9004"), Chat)
        .with_graceful_shutdown(examples::ctrl_c());
    examples::announce(server.local_addr()?);
    server.await
}
