//! Subscriptions over real sockets: the wire format byte for byte, who may
//! end one, the cap, slow subscribers under each policy, and streams
//! dropped with their connection.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures_util::{Stream, StreamExt as _};
use rpc_server::groups::{GroupStream, SlowMemberPolicy};
use rpc_server::{RpcContext, RpcError, Server, ServerBuilder, ServerHandle, rpc_service};
use serde_json::{Value, json};
use ws::{Client, Received, within};

use crate::common::ws;

const LIMIT: Duration = Duration::from_secs(60);

/// Counts the streams alive: each holds a guard until it is dropped.
#[derive(Clone, Default)]
struct Feeds {
    alive: Arc<AtomicUsize>,
}

struct Alive(Arc<AtomicUsize>);

impl Alive {
    fn new(count: &Arc<AtomicUsize>) -> Self {
        count.fetch_add(1, Ordering::SeqCst);
        Self(Arc::clone(count))
    }
}

impl Drop for Alive {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

#[rpc_service]
impl Feeds {
    /// `start`, `start + 1`, … every `every_ms`.
    #[rpc(subscription = "counter")]
    fn subscribe_counter(
        &self,
        start: u64,
        every_ms: u64,
    ) -> Result<impl Stream<Item = u64> + Send + 'static, RpcError> {
        if every_ms == 0 {
            return Err(RpcError::invalid_params("every_ms must be positive"));
        }
        let alive = Alive::new(&self.alive);
        let every = Duration::from_millis(every_ms);
        Ok(futures_util::stream::unfold(
            (start, alive),
            move |(next, alive)| async move {
                tokio::time::sleep(every).await;
                Some((next, (next + 1, alive)))
            },
        ))
    }

    /// Zeros, as fast as they can be taken.
    #[rpc(subscription)]
    fn endless(&self) -> impl Stream<Item = u8> + Send + 'static {
        let alive = Alive::new(&self.alive);
        futures_util::stream::repeat(0).map(move |zero| {
            let _alive = &alive;
            zero
        })
    }

    /// `count` strings of `size` bytes, at once, then the end.
    #[rpc(subscription)]
    async fn burst(
        &self,
        count: usize,
        size: usize,
    ) -> impl Stream<Item = String> + Send + 'static {
        let alive = Alive::new(&self.alive);
        futures_util::stream::iter((0..count).map(move |_| {
            let _alive = &alive;
            "x".repeat(size)
        }))
    }
}

/// Rooms: a subscription to everything said in one.
struct Rooms;

#[rpc_service]
impl Rooms {
    #[rpc(subscription = "room")]
    fn subscribe_room(&self, ctx: &RpcContext, room: String) -> Result<GroupStream, RpcError> {
        ctx.group_stream(&room)
    }

    fn say(&self, ctx: &RpcContext, room: String, text: String) -> Result<usize, RpcError> {
        let peer = ctx.peer().ok_or_else(RpcError::method_not_found)?;
        Ok(peer.notify_group(&room, "said", json!({"text": text}))?)
    }
}

#[tokio::test]
async fn a_subscription_can_follow_a_group() {
    within(LIMIT, async {
        let server = Server::builder()
            .serve("127.0.0.1:0", Rooms)
            .unwrap()
            .spawn();
        let mut listener = Client::connect(server.local_addr()).await;
        let mut speaker = Client::connect(server.local_addr()).await;
        let id = subscribe(&mut listener, "subscribe_room", json!(["lobby"]), 1).await;
        assert_eq!(server.group_size("lobby"), 1, "the stream is a member");
        let said = call(&mut speaker, "say", json!(["lobby", "hi"]), 1).await;
        assert_eq!(said["result"], 1);
        assert_eq!(
            listener.receive_json().await,
            json!({"jsonrpc": "2.0", "method": "room", "params": {
                "subscription": id,
                "result": {"method": "said", "params": {"text": "hi"}}
            }})
        );
        // Its connection gone, it is no longer a member.
        drop(listener);
        wait_until("the stream left the group", || {
            server.group_size("lobby") == 0
        })
        .await;
        server.shutdown_and_wait().await;
    })
    .await;
}

fn start(builder: ServerBuilder) -> (ServerHandle, Arc<AtomicUsize>) {
    let feeds = Feeds::default();
    let alive = Arc::clone(&feeds.alive);
    let server = builder.serve("127.0.0.1:0", feeds).unwrap().spawn();
    (server, alive)
}

async fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    for _ in 0..500 {
        if done() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("{what}: not within 5 s");
}

/// Sends a request and returns its reply, skipping the notifications of
/// subscriptions that arrive meanwhile.
async fn call(client: &mut Client, method: &str, params: Value, id: u64) -> Value {
    let request = json!({"jsonrpc": "2.0", "method": method, "params": params, "id": id});
    client.send(&request.to_string()).await;
    loop {
        let message = client.receive_json().await;
        if message.get("method").is_none() {
            assert_eq!(message["id"], id, "{message}");
            return message;
        }
    }
}

/// Opens a subscription; returns its id.
async fn subscribe(client: &mut Client, method: &str, params: Value, id: u64) -> String {
    let reply = call(client, method, params, id).await;
    reply["result"]
        .as_str()
        .unwrap_or_else(|| panic!("a subscription id: {reply}"))
        .to_owned()
}

#[tokio::test]
async fn the_wire_format_is_the_one_jsonrpsee_and_ethereum_clients_speak() {
    within(LIMIT, async {
        let (server, alive) = start(Server::builder());
        let mut client = Client::connect(server.local_addr()).await;
        client
            .send(r#"{"jsonrpc":"2.0","method":"subscribe_counter","params":[5,20],"id":1}"#)
            .await;
        let Received::Text(reply) = client.receive().await else {
            panic!("closed")
        };
        let id = serde_json::from_str::<Value>(&reply).unwrap()["result"]
            .as_str()
            .unwrap()
            .to_owned();
        assert_eq!(reply, format!(r#"{{"jsonrpc":"2.0","result":"{id}","id":1}}"#));
        assert_eq!(id.len(), 32, "128 random bits");
        for n in 5..8 {
            let Received::Text(item) = client.receive().await else {
                panic!("closed")
            };
            assert_eq!(
                item,
                format!(
                    r#"{{"jsonrpc":"2.0","method":"counter","params":{{"subscription":"{id}","result":{n}}}}}"#
                )
            );
        }
        assert_eq!(alive.load(Ordering::SeqCst), 1);
        client
            .send(&format!(
                r#"{{"jsonrpc":"2.0","method":"unsubscribe_counter","params":["{id}"],"id":2}}"#
            ))
            .await;
        // Items already queued may come first; then the answer, then nothing.
        loop {
            let message = client.receive_json().await;
            if message["id"] == 2 {
                assert_eq!(message["result"], true);
                break;
            }
            assert_eq!(message["method"], "counter");
        }
        wait_until("the stream is dropped", || alive.load(Ordering::SeqCst) == 0).await;
        let again = call(&mut client, "unsubscribe_counter", json!({"subscription": id}), 3).await;
        assert_eq!(again["result"], false, "already ended");
        server.shutdown_and_wait().await;
    })
    .await;
}

#[tokio::test]
async fn items_never_overtake_the_reply() {
    within(LIMIT, async {
        let (server, _) = start(Server::builder());
        let mut client = Client::connect(server.local_addr()).await;
        for round in 0..20 {
            let id = round + 1;
            client
                .send(&format!(
                    r#"{{"jsonrpc":"2.0","method":"burst","params":[50,10],"id":{id}}}"#
                ))
                .await;
            let first = client.receive_json().await;
            assert_eq!(first["id"], id, "round {round}: the reply comes first");
            for _ in 0..50 {
                assert_eq!(client.receive_json().await["method"], "burst");
            }
        }
        server.shutdown_and_wait().await;
    })
    .await;
}

#[tokio::test]
async fn only_the_subscribing_connection_can_unsubscribe() {
    within(LIMIT, async {
        let (server, alive) = start(Server::builder());
        let mut owner = Client::connect(server.local_addr()).await;
        let mut other = Client::connect(server.local_addr()).await;
        let id = subscribe(&mut owner, "subscribe_counter", json!([0, 20]), 1).await;
        let reply = other.call("unsubscribe_counter", json!([id]), 1).await;
        assert_eq!(reply["result"], false);
        assert_eq!(alive.load(Ordering::SeqCst), 1);
        // The owner's subscription goes on.
        for _ in 0..3 {
            assert_eq!(owner.receive_json().await["params"]["subscription"], id);
        }
        // An unsubscribe method of another kind does not end it either.
        let burst = call(&mut owner, "unsubscribe_burst", json!([id]), 2).await;
        assert_eq!(burst["result"], false);
        assert_eq!(alive.load(Ordering::SeqCst), 1);
        server.shutdown_and_wait().await;
    })
    .await;
}

#[tokio::test]
async fn a_refusal_opens_nothing_and_bad_calls_get_errors() {
    within(LIMIT, async {
        let (server, alive) = start(Server::builder());
        let mut client = Client::connect(server.local_addr()).await;
        let refused = client.call("subscribe_counter", json!([0, 0]), 1).await;
        assert_eq!(refused["error"]["code"], -32602, "{refused}");
        let bad = client.call("subscribe_counter", json!(["x"]), 2).await;
        assert_eq!(bad["error"]["code"], -32602, "{bad}");
        // In a batch: refused, the other call answered.
        client
            .send(r#"[{"jsonrpc":"2.0","method":"subscribe_counter","params":[0,10],"id":3},{"jsonrpc":"2.0","method":"unsubscribe_counter","params":["nope"],"id":4}]"#)
            .await;
        let batch = client.receive_json().await;
        assert_eq!(batch[0]["error"]["code"], -32600, "{batch}");
        assert_eq!(batch[1]["result"], false);
        // As a notification: nobody could learn the id, so nothing opens.
        client
            .send(r#"{"jsonrpc":"2.0","method":"subscribe_counter","params":[0,10]}"#)
            .await;
        let ping = client.call("unsubscribe_counter", json!(["nope"]), 5).await;
        assert_eq!(ping["result"], false);
        assert_eq!(alive.load(Ordering::SeqCst), 0);
        server.shutdown_and_wait().await;
    })
    .await;
}

#[tokio::test]
async fn subscriptions_need_a_websocket() {
    within(LIMIT, async {
        let (server, _) = start(Server::builder());
        let body = r#"{"jsonrpc":"2.0","method":"subscribe_counter","params":[0,10],"id":1}"#;
        let reply = post(server.local_addr(), body).await;
        assert_eq!(reply["error"]["code"], -32601, "{reply}");
        server.shutdown_and_wait().await;
    })
    .await;
}

/// One JSON `POST`, its body parsed.
async fn post(addr: std::net::SocketAddr, body: &str) -> Value {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = format!(
        "POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    let (_, body) = answer.split_once("\r\n\r\n").expect("a body");
    serde_json::from_str(body).expect("JSON")
}

/// A stream that is always ready still ends when its client unsubscribes
/// (its task gives way between items), while the client keeps reading.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_always_ready_stream_stops_on_unsubscribe() {
    within(LIMIT, async {
        let (server, alive) =
            start(Server::builder().slow_member_policy(SlowMemberPolicy::DropMessage));
        let mut client = Client::connect(server.local_addr()).await;
        let id = subscribe(&mut client, "endless", json!([]), 1).await;
        for _ in 0..100 {
            assert_eq!(client.receive_json().await["params"]["subscription"], id);
        }
        let ended = call(&mut client, "unsubscribe_endless", json!([id]), 2).await;
        assert_eq!(ended["result"], true);
        wait_until("the stream is dropped", || {
            alive.load(Ordering::SeqCst) == 0
        })
        .await;
        server.shutdown_and_wait().await;
    })
    .await;
}

#[tokio::test]
async fn a_connection_opens_at_most_the_cap() {
    within(LIMIT, async {
        let (server, alive) = start(Server::builder().max_subscriptions_per_connection(2));
        let mut client = Client::connect(server.local_addr()).await;
        let first = subscribe(&mut client, "subscribe_counter", json!([0, 60_000]), 1).await;
        subscribe(&mut client, "subscribe_counter", json!([0, 60_000]), 2).await;
        let third = client
            .call("subscribe_counter", json!([0, 60_000]), 3)
            .await;
        assert_eq!(third["error"]["code"], -32001, "{third}");
        assert_eq!(
            third["error"]["data"],
            "a connection has 2 subscriptions open at most"
        );
        assert_eq!(
            alive.load(Ordering::SeqCst),
            2,
            "the refused stream is dropped"
        );
        // Ending one makes room.
        let ended = call(&mut client, "unsubscribe_counter", json!([first]), 4).await;
        assert_eq!(ended["result"], true);
        subscribe(&mut client, "subscribe_counter", json!([0, 60_000]), 5).await;
        server.shutdown_and_wait().await;
    })
    .await;
}

#[tokio::test]
async fn streams_are_dropped_when_their_connection_closes() {
    within(LIMIT, async {
        let (server, alive) = start(Server::builder());
        let mut client = Client::connect(server.local_addr()).await;
        for id in 0..100 {
            subscribe(&mut client, "subscribe_counter", json!([0, 60_000]), id).await;
        }
        assert_eq!(alive.load(Ordering::SeqCst), 100);
        drop(client);
        wait_until("every stream dropped", || alive.load(Ordering::SeqCst) == 0).await;
        server.shutdown_and_wait().await;
    })
    .await;
}

#[tokio::test]
async fn a_stream_that_ends_closes_its_subscription() {
    within(LIMIT, async {
        let (server, alive) = start(Server::builder());
        let mut client = Client::connect(server.local_addr()).await;
        let id = subscribe(&mut client, "burst", json!([3, 1]), 1).await;
        for _ in 0..3 {
            assert_eq!(client.receive_json().await["params"]["result"], "x");
        }
        wait_until("the stream is dropped", || {
            alive.load(Ordering::SeqCst) == 0
        })
        .await;
        let reply = call(&mut client, "unsubscribe_burst", json!([id]), 2).await;
        assert_eq!(reply["result"], false, "it ended by itself");
        server.shutdown_and_wait().await;
    })
    .await;
}

/// A subscriber that does not read, with a queue of 64 KiB: 1,000 items of
/// 1 KiB cannot all wait for it.
#[tokio::test]
async fn a_slow_subscriber_is_disconnected_by_default() {
    within(LIMIT, async {
        let (server, alive) = start(Server::builder().max_queued_bytes(64 * 1024));
        let mut slow = Client::connect(server.local_addr()).await;
        slow.send(r#"{"jsonrpc":"2.0","method":"burst","params":[100000,1024],"id":1}"#)
            .await;
        wait_until("the stream is dropped", || {
            alive.load(Ordering::SeqCst) == 0
        })
        .await;
        // It finds the connection closed as too slow.
        let frame = slow.closed().await.expect("a close frame");
        assert_eq!(u16::from(frame.code), 1008);
        assert_eq!(frame.reason.as_str(), "too slow to keep up");
        server.shutdown_and_wait().await;
    })
    .await;
}

#[tokio::test]
async fn under_drop_message_a_slow_subscriber_is_told_what_it_missed() {
    within(LIMIT, async {
        let (server, _) = start(
            Server::builder()
                .max_queued_bytes(64 * 1024)
                .slow_member_policy(SlowMemberPolicy::DropMessage),
        );
        let mut slow = Client::connect(server.local_addr()).await;
        let id = subscribe(&mut slow, "burst", json!([1000, 1024]), 1).await;
        // Read only once the whole burst has been offered.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let (mut items, mut dropped) = (0, 0);
        while items + dropped < 1000 {
            let message = slow.receive_json().await;
            assert_eq!(message["params"]["subscription"], id);
            if let Some(missed) = message["params"]["dropped"].as_u64() {
                dropped += missed;
            } else {
                items += 1;
            }
        }
        println!("{items} items delivered, {dropped} reported dropped");
        assert!(dropped > 0, "the queue holds 64 KiB, not 1,000 KiB");
        assert!(items > 0);
        // The connection goes on.
        let reply = slow.call("unsubscribe_burst", json!(["nope"]), 2).await;
        assert_eq!(reply["result"], false);
        server.shutdown_and_wait().await;
    })
    .await;
}

/// jsonrpsee's own client subscribes to our server and gets the items.
#[tokio::test]
async fn jsonrpsees_client_subscribes_and_unsubscribes() {
    use jsonrpsee_core::client::{Subscription, SubscriptionClientT as _};
    within(LIMIT, async {
        let (server, alive) = start(Server::builder());
        let client = jsonrpsee_ws_client::WsClientBuilder::default()
            .build(format!("ws://{}", server.local_addr()))
            .await
            .unwrap();
        let mut counter: Subscription<u64> = client
            .subscribe(
                "subscribe_counter",
                jsonrpsee_core::rpc_params![5, 20],
                "unsubscribe_counter",
            )
            .await
            .unwrap();
        for n in 5..8 {
            assert_eq!(counter.next().await.unwrap().unwrap(), n);
        }
        counter.unsubscribe().await.unwrap();
        wait_until("the stream is dropped", || {
            alive.load(Ordering::SeqCst) == 0
        })
        .await;
        server.shutdown_and_wait().await;
    })
    .await;
}
