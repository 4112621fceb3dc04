//! A chat server: clients join rooms, and a message from one reaches every
//! member of the room through `notify_group` (serialized once per message).
//! Several instances pointed at one Redis share their rooms.
//!
//! Run with: cargo run -p examples --example chat [-- --addr 127.0.0.1:9004] [--redis redis://127.0.0.1:6379]
//!
//! Clients call `join` with `{"room": "…", "name": "…"}`, then `say` with
//! `{"room": "…", "text": "…"}`; members receive `message` notifications
//! `{"room", "from", "text"}`.
//!
//! A room can also be followed as a subscription that survives a dropped
//! connection: `subscribe_room` with `{"room": "…"}` answers with a
//! subscription id, then sends each message as a `room` notification with
//! its position in the room's history (the last 1,000 messages, up to 10
//! minutes old, are kept). A client that comes back passes the last
//! position it saw as `since` and gets exactly what it missed, then the
//! live messages (a session, by hand with `rpc listen`, or any WebSocket
//! client):
//!
//! ```text
//! → {"jsonrpc":"2.0","method":"subscribe_room","params":{"room":"lobby"},"id":1}
//! ← {"jsonrpc":"2.0","result":"c0ffee…","id":1}
//! ← {"jsonrpc":"2.0","method":"room","params":{"subscription":"c0ffee…","result":{"room":"lobby","from":"ada","text":"hi"},"position":{"epoch":"5f1d…","offset":7}}}
//!   (the connection drops; ada says two more things; the client comes back)
//! → {"jsonrpc":"2.0","method":"subscribe_room","params":{"room":"lobby","since":{"epoch":"5f1d…","offset":7}},"id":1}
//! ← {"jsonrpc":"2.0","result":"b4d…","id":1}
//! ← {"jsonrpc":"2.0","method":"room","params":{"subscription":"b4d…","result":{"room":"lobby","from":"ada","text":"still there?"},"position":{"epoch":"5f1d…","offset":8}}}
//! ← {"jsonrpc":"2.0","method":"room","params":{"subscription":"b4d…","result":{"room":"lobby","from":"ada","text":"bye"},"position":{"epoch":"5f1d…","offset":9}}}
//! ```
//!
//! A `since` the history no longer covers (too old, or from before a
//! restart without Redis) is answered with one
//! `{"subscription":…,"recovered":false,"position":{…}}` before the live
//! messages. `unsubscribe_room` with the id ends it. rpc-client's
//! `Subscription` does all of this by itself.
//!
//! With `--redis URL` (or `RPC_REDIS_URL` when the flag is absent; the
//! other `RPC_REDIS_*` variables apply too), rooms span every instance on
//! that Redis: run a second one with `--addr 127.0.0.1:9005` and a `say` on
//! either reaches the members on both. `say` then returns how many members
//! *on this instance* it reached; those on the others get it through Redis
//! (within a round trip of their instance's joining) and are not in that
//! number.

use std::time::Duration;

use futures_util::Stream;
use rpc_redis::{RedisConfig, RedisGroups};
use rpc_server::connect::Admission;
use rpc_server::groups::{GroupHistory, HistoryRules, LocalGroups, Position, Positioned};
use rpc_server::{RpcContext, RpcError, rpc_service};
use serde_json::{Value, json};

/// What every room keeps for followers that come back.
const ROOM_HISTORY: GroupHistory = GroupHistory::new(1_000, Duration::from_secs(600));

/// Who a connection said it was, per room it joined.
struct Name(std::sync::Mutex<String>);

struct Chat;

#[rpc_service(title = "chat")]
impl Chat {
    /// Joins `room` as `name` (its members are told); returns how many rooms
    /// this connection is in now.
    fn join(&self, ctx: &RpcContext, room: String, name: String) -> Result<usize, RpcError> {
        ctx.join(&room)?;
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

    /// Follows `room`: each message said in it, as `room` notifications
    /// with their positions; with `since` (the last position seen), what
    /// was said after it first.
    #[rpc(subscription = "room")]
    fn subscribe_room(
        &self,
        ctx: &RpcContext,
        room: String,
        since: Option<Position>,
    ) -> Result<impl Stream<Item = Positioned<Value>> + Send + 'static, RpcError> {
        Ok(ctx.group_stream_since(&room, since)?.params_of("message"))
    }

    /// Sends `text` to everyone in `room`; returns how many members on this
    /// instance it reached (or, with Redis, will reach once Redis has
    /// given it its position).
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
    let [addr, redis] = examples::flags_from_args(&[
        (
            "--addr",
            "HOST:PORT (port 0 picks a free one; default 127.0.0.1:9004)",
        ),
        (
            "--redis",
            "redis://HOST:PORT (default: RPC_REDIS_URL, else none)",
        ),
    ]);
    let mut builder = examples::server()
        // Every connection gets a slot for its name.
        .on_connect(|_request| async { Ok(Admission::new().insert(Name(Default::default()))) });
    // `--redis` wins over RPC_REDIS_URL; the other RPC_REDIS_* still apply.
    let redis = RedisConfig::from_lookup(|name| match name {
        "RPC_REDIS_URL" => redis.clone().or_else(|| std::env::var(name).ok()),
        _ => std::env::var(name).ok(),
    })
    .map_err(std::io::Error::other)?;
    let groups = match redis {
        Some(mut config) => {
            println!("sharing rooms through Redis at {}", config.redacted_url());
            // Every room keeps history, unless RPC_REDIS_HISTORY says otherwise.
            if config.history.is_empty() {
                config = config.with_history("*", ROOM_HISTORY);
            }
            let groups = RedisGroups::with_config(config).map_err(std::io::Error::other)?;
            builder = builder.groups(groups.clone());
            Some(groups)
        }
        None => {
            let rooms =
                LocalGroups::new().with_history(HistoryRules::new().rule("*", ROOM_HISTORY));
            builder = builder.groups(rooms);
            None
        }
    };
    let server = builder
        .serve(addr.as_deref().unwrap_or("127.0.0.1:9004"), Chat)?
        .with_graceful_shutdown(rpc_server::shutdown_signal());
    examples::announce(server.local_addr());
    server.await?;
    if let Some(groups) = groups {
        // Leave Redis's counts at once rather than at expiry.
        groups.shutdown().await;
    }
    Ok(())
}
