//! Server push over real sockets: notifications and calls to one client,
//! groups and broadcasts.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use rpc_server::connect::{Admission, Rejection};
use rpc_server::{CallError, Peer, RpcContext, RpcError, Server, ServerHandle, rpc_service};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use ws::{Client, Received, within};

use crate::common::ws;

const LIMIT: Duration = Duration::from_secs(60);

#[derive(Clone, Default)]
struct Push {
    /// A peer kept by `remember`, to use after its client has gone.
    kept: Arc<Mutex<Option<Peer>>>,
    /// How `flood` ended.
    flood_ended: Arc<Mutex<Option<String>>>,
}

#[rpc_service]
impl Push {
    async fn poke_me(&self, ctx: &RpcContext, text: String) -> bool {
        let peer = ctx.peer().expect("WebSocket connections have a peer");
        peer.notify("poked", [text]).await.is_ok()
    }

    /// Calls the client's `double` and returns what it said.
    async fn ask_back(&self, ctx: &RpcContext, n: i64) -> Result<i64, RpcError> {
        let peer = ctx.peer().expect("a peer");
        Ok(peer.call::<i64>("double", [n]).await?)
    }

    async fn ask_back_raw(&self, ctx: &RpcContext) -> String {
        match ctx.peer().expect("a peer").call::<Value>("fails", ()).await {
            Err(CallError::Remote(error)) => format!("remote {}", error.code()),
            Err(CallError::Timeout(_)) => "timeout".to_owned(),
            other => format!("{other:?}"),
        }
    }

    /// Notifies the client `count` times with `size` bytes each, until a
    /// notification fails; records how it ended.
    async fn flood(&self, ctx: &RpcContext, count: usize, size: usize) -> usize {
        let peer = ctx.peer().expect("a peer");
        let text = "x".repeat(size);
        let mut sent = 0;
        let mut ended = "all sent".to_owned();
        for _ in 0..count {
            match peer.notify("flood", [&text]).await {
                Ok(()) => sent += 1,
                Err(err) => {
                    ended = format!("{err:?}");
                    break;
                }
            }
        }
        *self.flood_ended.lock().unwrap() = Some(ended);
        sent
    }

    fn remember(&self, ctx: &RpcContext) {
        *self.kept.lock().unwrap() = ctx.peer().cloned();
    }

    fn join(&self, ctx: &RpcContext, room: String) -> Result<Vec<String>, RpcError> {
        ctx.join(&room)?;
        Ok(ctx.peer().map(Peer::groups).unwrap_or_default())
    }

    fn leave(&self, ctx: &RpcContext, room: String) {
        ctx.leave(&room);
    }

    fn say(&self, ctx: &RpcContext, room: String, text: String) -> Result<usize, RpcError> {
        let peer = ctx.peer().expect("a peer");
        Ok(peer.notify_group(&room, "said", json!({"room": room, "text": text}))?)
    }
}

fn start(builder: rpc_server::ServerBuilder, service: Push) -> ServerHandle {
    builder.serve("127.0.0.1:0", service).unwrap().spawn()
}

/// Answers the server's calls the way a client serving methods would:
/// `double` doubles, anything else is unknown. Returns the first text
/// that is not one of the server's calls.
async fn serve_calls_until_reply(client: &mut Client) -> Value {
    loop {
        let Received::Text(text) = client.receive().await else {
            panic!("closed while waiting");
        };
        let message: Value = serde_json::from_str(&text).unwrap();
        if message.get("method").is_none() {
            return message;
        }
        let id = message["id"].clone();
        let reply = match message["method"].as_str() {
            Some("double") => {
                json!({"jsonrpc": "2.0", "result": message["params"][0].as_i64().unwrap() * 2, "id": id})
            }
            _ => {
                json!({"jsonrpc": "2.0", "error": {"code": -32601, "message": "Method not found"}, "id": id})
            }
        };
        client.send(&reply.to_string()).await;
    }
}

#[tokio::test]
async fn a_notification_reaches_the_right_connection() {
    within(LIMIT, async {
        let server = start(Server::builder(), Push::default());
        let mut ada = Client::connect(server.local_addr()).await;
        let mut bob = Client::connect(server.local_addr()).await;
        ada.send(r#"{"jsonrpc":"2.0","method":"poke_me","params":["hi ada"],"id":1}"#)
            .await;
        let first = ada.receive_json().await;
        let second = ada.receive_json().await;
        let (note, reply) = if first.get("method").is_some() {
            (first, second)
        } else {
            (second, first)
        };
        assert_eq!(
            note,
            json!({"jsonrpc": "2.0", "method": "poked", "params": ["hi ada"]})
        );
        assert_eq!(reply["result"], true);
        // Bob got nothing: his next message is the reply to his own call.
        assert_eq!(bob.call("join", json!(["x"]), 7).await["id"], 7);
        server.shutdown_and_wait().await;
    })
    .await;
}

/// Frames leave in the order they were made: a notification a handler
/// sends before it returns arrives before the handler's reply.
#[tokio::test]
async fn a_notification_sent_before_the_reply_arrives_before_it() {
    within(LIMIT, async {
        let server = start(Server::builder(), Push::default());
        let mut client = Client::connect(server.local_addr()).await;
        for id in 1..=20 {
            let call = json!({"jsonrpc": "2.0", "method": "poke_me", "params": [id.to_string()], "id": id});
            client.send(&call.to_string()).await;
            let first = client.receive_json().await;
            assert_eq!(first["method"], "poked", "call {id}: {first}");
            assert_eq!(client.receive_json().await["id"], id);
        }
        server.shutdown_and_wait().await;
    })
    .await;
}

/// A notification to a client that does not read waits for room in its
/// queue no longer than the peer call timeout: the handler is not stuck.
#[tokio::test]
async fn a_push_to_a_client_that_does_not_read_gives_up_in_time() {
    within(LIMIT, async {
        let service = Push::default();
        let ended = Arc::clone(&service.flood_ended);
        let server = start(
            Server::builder()
                .max_queued_bytes(256 * 1024)
                .peer_call_timeout(Duration::from_millis(300)),
            service,
        );
        let mut client = Client::connect(server.local_addr()).await;
        client
            .send(r#"{"jsonrpc":"2.0","method":"flood","params":[4000,65536],"id":1}"#)
            .await;
        // Never read: the kernel's buffers fill, then the queue.
        let mut outcome = None;
        for _ in 0..200 {
            outcome = ended.lock().unwrap().clone();
            if outcome.is_some() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let outcome = outcome.expect("the handler finished");
        assert!(outcome.starts_with("Timeout"), "{outcome}");
        drop(client);
        server.shutdown_and_wait().await;
    })
    .await;
}

/// A connection joins at most `max_groups_per_connection` groups, with
/// names of at most `max_group_name_length` bytes; past either, `join`
/// fails with REQUEST_TOO_LARGE and nothing is joined.
#[tokio::test]
async fn joins_past_the_group_caps_are_refused() {
    within(LIMIT, async {
        let server = start(
            Server::builder()
                .max_groups_per_connection(3)
                .max_group_name_length(16),
            Push::default(),
        );
        let mut client = Client::connect(server.local_addr()).await;
        for (id, room) in ["a", "b", "c", "a"].into_iter().enumerate() {
            let joined = client.call("join", json!([room]), id as u64).await;
            assert!(joined.get("result").is_some(), "{joined}");
        }
        let fourth = client.call("join", json!(["d"]), 10).await;
        assert_eq!(fourth["error"]["code"], -32001, "{fourth}");
        assert!(
            fourth["error"]["data"]
                .as_str()
                .unwrap()
                .contains("3 groups")
        );
        assert_eq!(server.group_size("d"), 0);
        client.call("leave", json!(["a"]), 11).await;
        let long = "x".repeat(17);
        let refused = client.call("join", json!([long]), 12).await;
        assert_eq!(refused["error"]["code"], -32001, "{refused}");
        assert_eq!(server.group_size(&long), 0);
        let joined = client.call("join", json!(["d"]), 13).await;
        assert_eq!(joined["result"], json!(["b", "c", "d"]));
        // Broadcasts are held to the name cap too (a backend shared over
        // Redis would publish, and number, any name it is handed).
        let said = client.call("say", json!([long, "hi"]), 14).await;
        assert_eq!(said["error"]["code"], -32001, "{said}");
        let refused = server.notify_group(&long, "news", json!({})).unwrap_err();
        assert!(
            matches!(refused, rpc_server::CallError::Refused(_)),
            "{refused:?}"
        );
        server.shutdown_and_wait().await;
    })
    .await;
}

/// A join through a peer kept past its connection's end adds no member:
/// nothing is left behind in the group.
#[tokio::test]
async fn a_join_after_the_connection_ended_leaves_nothing_behind() {
    within(LIMIT, async {
        let service = Push::default();
        let kept = Arc::clone(&service.kept);
        let server = start(Server::builder(), service);
        let mut client = Client::connect(server.local_addr()).await;
        client.call("remember", json!([]), 1).await;
        drop(client);
        let peer = kept.lock().unwrap().clone().expect("a kept peer");
        for _ in 0..200 {
            if peer.is_closed() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert!(peer.is_closed());
        peer.join("late")
            .expect("a closed connection joins nothing, quietly");
        assert_eq!(server.group_size("late"), 0);
        assert!(peer.groups().is_empty());
        server.shutdown_and_wait().await;
    })
    .await;
}

/// How `on_connect` goes on once it has joined the lobby and kept its peer.
#[derive(Clone, Copy)]
enum ThenOnConnect {
    Refuses,
    AdmitsAfter(Duration),
    NeverAnswers,
}

/// A server whose `on_connect` joins "lobby" and keeps the handshake's
/// `Peer` (as an application tracking its users would), then goes on as
/// `then` says.
fn joining_on_connect(then: ThenOnConnect, handshake_timeout: Duration) -> ServerHandle {
    let kept: Arc<Mutex<Vec<Peer>>> = Arc::default();
    let builder = Server::builder()
        .handshake_timeout(handshake_timeout)
        .on_connect(move |request| {
            let kept = Arc::clone(&kept);
            async move {
                let peer = request.peer().expect("a WebSocket handshake");
                peer.join("lobby").expect("within the caps");
                kept.lock().unwrap().push(peer);
                match then {
                    ThenOnConnect::Refuses => Err(Rejection::forbidden("not today")),
                    ThenOnConnect::AdmitsAfter(delay) => {
                        tokio::time::sleep(delay).await;
                        Ok(Admission::new())
                    }
                    ThenOnConnect::NeverAnswers => std::future::pending().await,
                }
            }
        });
    start(builder, Push::default())
}

const UPGRADE: &[u8] =
    b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
    Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n";

/// Sends a WebSocket upgrade request and waits until `on_connect` has
/// joined the lobby.
async fn handshake_until_joined(server: &ServerHandle) -> tokio::net::TcpStream {
    let mut raw = tokio::net::TcpStream::connect(server.local_addr())
        .await
        .unwrap();
    raw.write_all(UPGRADE).await.unwrap();
    wait_for_group_size(server, "lobby", 1).await;
    raw
}

/// Waits (up to 5 s) until `group` has `size` members here.
async fn wait_for_group_size(server: &ServerHandle, group: &str, size: usize) {
    for _ in 0..500 {
        if server.group_size(group) == size {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!(
        "{group} has {} members, not {size}",
        server.group_size(group)
    );
}

/// Membership made in `on_connect` ends with the handshake when the
/// connection never comes to be, whichever way that happens (the three
/// tests below), even though `on_connect` kept its `Peer`.
#[tokio::test]
async fn a_handshake_refused_after_on_connect_joined_leaves_no_member() {
    within(LIMIT, async {
        let server = joining_on_connect(ThenOnConnect::Refuses, Duration::from_secs(5));
        let mut raw = tokio::net::TcpStream::connect(server.local_addr())
            .await
            .unwrap();
        raw.write_all(UPGRADE).await.unwrap();
        let mut answer = [0; 12];
        raw.read_exact(&mut answer).await.unwrap();
        assert_eq!(&answer, b"HTTP/1.1 403");
        assert_eq!(server.group_size("lobby"), 0);
        server.shutdown_and_wait().await;
    })
    .await;
}

#[tokio::test]
async fn a_client_gone_while_on_connect_runs_leaves_no_member() {
    within(LIMIT, async {
        let server = joining_on_connect(
            ThenOnConnect::AdmitsAfter(Duration::from_millis(300)),
            Duration::from_secs(5),
        );
        drop(handshake_until_joined(&server).await);
        wait_for_group_size(&server, "lobby", 0).await;
        server.shutdown_and_wait().await;
    })
    .await;
}

/// An `on_connect` that never answers holds the handshake no longer than
/// the handshake timeout: 503, and its membership is gone.
#[tokio::test]
async fn an_on_connect_that_never_answers_is_cut_off_and_leaves_no_member() {
    within(LIMIT, async {
        let server = joining_on_connect(ThenOnConnect::NeverAnswers, Duration::from_millis(300));
        let mut raw = handshake_until_joined(&server).await;
        let mut answer = Vec::new();
        raw.read_to_end(&mut answer).await.unwrap();
        let answer = String::from_utf8_lossy(&answer);
        assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
        assert_eq!(server.group_size("lobby"), 0);
        server.shutdown_and_wait().await;
    })
    .await;
}

#[tokio::test]
async fn a_server_to_client_call_gets_the_clients_answer_and_ids_never_mix() {
    within(LIMIT, async {
        let server = start(Server::builder(), Push::default());
        let mut client = Client::connect(server.local_addr()).await;
        // The client's request id 1 and the server's first call (id 1 too)
        // are tracked separately.
        client
            .send(r#"{"jsonrpc":"2.0","method":"ask_back","params":[21],"id":1}"#)
            .await;
        let reply = serve_calls_until_reply(&mut client).await;
        assert_eq!(reply, json!({"jsonrpc": "2.0", "result": 42, "id": 1}));
        // The client's error comes back as an error.
        client
            .send(r#"{"jsonrpc":"2.0","method":"ask_back_raw","id":2}"#)
            .await;
        let reply = serve_calls_until_reply(&mut client).await;
        assert_eq!(reply["result"], "remote -32601");
        server.shutdown_and_wait().await;
    })
    .await;
}

#[tokio::test]
async fn a_call_the_client_never_answers_times_out() {
    within(LIMIT, async {
        let server = start(
            Server::builder().peer_call_timeout(Duration::from_millis(200)),
            Push::default(),
        );
        let mut client = Client::connect(server.local_addr()).await;
        client
            .send(r#"{"jsonrpc":"2.0","method":"ask_back_raw","id":1}"#)
            .await;
        // Receive the server's call and ignore it.
        let call = client.receive_json().await;
        assert_eq!(call["method"], "fails");
        assert_eq!(client.receive_json().await["result"], "timeout");
        server.shutdown_and_wait().await;
    })
    .await;
}

#[tokio::test]
async fn a_peer_kept_after_its_client_left_says_closed() {
    within(LIMIT, async {
        let service = Push::default();
        let kept = Arc::clone(&service.kept);
        let server = start(Server::builder(), service);
        let mut client = Client::connect(server.local_addr()).await;
        client.call("remember", json!([]), 1).await;
        drop(client);
        tokio::time::sleep(Duration::from_millis(300)).await;
        let peer = kept.lock().unwrap().clone().expect("remembered");
        assert!(peer.is_closed());
        assert!(matches!(
            peer.notify("late", ()).await,
            Err(CallError::Closed)
        ));
        assert!(matches!(
            peer.call::<Value>("late", ()).await,
            Err(CallError::Closed)
        ));
        server.shutdown_and_wait().await;
    })
    .await;
}

#[tokio::test]
async fn group_membership_follows_joins_leaves_and_disconnects() {
    within(LIMIT, async {
        let server = start(Server::builder(), Push::default());
        let mut ada = Client::connect(server.local_addr()).await;
        let mut bob = Client::connect(server.local_addr()).await;
        assert_eq!(
            ada.call("join", json!(["room"]), 1).await["result"],
            json!(["room"])
        );
        assert_eq!(
            bob.call("join", json!(["room"]), 1).await["result"],
            json!(["room"])
        );
        assert_eq!(server.group_size("room"), 2);

        // Both members get a message sent by one of them, once.
        bob.send(r#"{"jsonrpc":"2.0","method":"say","params":["room","hello"],"id":2}"#)
            .await;
        let mut bob_got = [bob.receive_json().await, bob.receive_json().await];
        bob_got.sort_by_key(|m| m.get("id").is_some());
        assert_eq!(bob_got[0]["params"]["text"], "hello");
        assert_eq!(bob_got[1]["result"], 2);
        assert_eq!(ada.receive_json().await["params"]["text"], "hello");

        ada.call("leave", json!(["room"]), 3).await;
        assert_eq!(server.group_size("room"), 1);
        drop(bob);
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(
            server.group_size("room"),
            0,
            "a closed connection leaves its groups"
        );
        server.shutdown_and_wait().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broadcast_to_a_thousand_members_arrives_once_at_each() {
    within(LIMIT, async {
        let server = start(Server::builder(), Push::default());
        let addr = server.local_addr();
        let mut members = Vec::new();
        for _ in 0..1_000 {
            members.push(tokio::spawn(async move {
                let mut client = Client::connect(addr).await;
                client.call("join", json!(["all"]), 1).await;
                client
            }));
        }
        let mut clients = Vec::new();
        for member in members {
            clients.push(member.await.unwrap());
        }
        assert_eq!(server.group_size("all"), 1_000);
        let reached = server.notify_group("all", "news", json!({"n": 1})).unwrap();
        assert_eq!(reached, 1_000);
        let receivers: Vec<_> = clients
            .into_iter()
            .map(|mut client| {
                tokio::spawn(async move {
                    let news = client.receive_json().await;
                    assert_eq!(
                        news,
                        json!({"jsonrpc": "2.0", "method": "news", "params": {"n": 1}})
                    );
                    // Exactly once: the next message is the reply to this call.
                    assert_eq!(client.call("leave", json!(["all"]), 2).await["id"], 2);
                })
            })
            .collect();
        for receiver in receivers {
            receiver.await.unwrap();
        }
        server.shutdown_and_wait().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bursts_to_a_thousand_members_that_read_arrive_in_full_and_drop_nobody() {
    within(LIMIT, async {
        let server = start(Server::builder(), Push::default());
        let addr = server.local_addr();
        // Each join is announced to the room while the earlier members are
        // not reading yet (the chat example's "joined" burst) …
        let mut clients = Vec::new();
        for n in 0..1_000u64 {
            let mut client = Client::connect(addr).await;
            client.call("join", json!(["all"]), 1).await;
            server.notify_group("all", "joined", [n]).unwrap();
            clients.push(client);
        }
        // … then a burst of 100 messages, all at once.
        const BURST: u64 = 100;
        for n in 0..BURST {
            assert_eq!(server.notify_group("all", "burst", [n]).unwrap(), 1_000);
        }
        let readers: Vec<_> = clients
            .into_iter()
            .enumerate()
            .map(|(joined_as, mut client)| {
                tokio::spawn(async move {
                    for n in joined_as as u64..1_000 {
                        let message = client.receive_json().await;
                        assert_eq!(
                            (&message["method"], &message["params"]),
                            (&json!("joined"), &json!([n]))
                        );
                    }
                    for n in 0..BURST {
                        assert_eq!(client.receive_json().await["params"], json!([n]));
                    }
                    client
                })
            })
            .collect();
        let mut clients = Vec::new();
        for reader in readers {
            clients.push(reader.await.unwrap());
        }
        assert_eq!(server.group_size("all"), 1_000, "no member was judged slow");
        server.shutdown_and_wait().await;
    })
    .await;
}

#[tokio::test]
async fn a_slow_member_is_dropped_and_does_not_hold_up_the_others() {
    within(LIMIT, async {
        let server = start(
            Server::builder().max_queued_bytes(4 * 64 * 1024),
            Push::default(),
        );
        let mut slow = Client::connect(server.local_addr()).await;
        let mut fast = Client::connect(server.local_addr()).await;
        slow.call("join", json!(["room"]), 1).await;
        fast.call("join", json!(["room"]), 1).await;
        let big = "x".repeat(64 * 1024);
        // The slow member never reads; its queue (and socket buffers) fill.
        for n in 0..200 {
            server
                .notify_group("room", "blob", json!([n, big]))
                .unwrap();
            let got = fast.receive_json().await;
            assert_eq!(
                got["params"][0], n,
                "the fast member gets every message in order"
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(
            server.group_size("room"),
            1,
            "the slow member was disconnected"
        );
        // When it finally reads, it finds the connection closed: with a
        // close frame saying why, if there was room left to send one.
        if let Some(frame) = slow.closed().await {
            assert_eq!(u16::from(frame.code), 1008);
            assert_eq!(frame.reason.as_str(), "too slow to keep up");
        }
        server.shutdown_and_wait().await;
    })
    .await;
}
