//! The chat example's rooms followed as subscriptions: the resume session
//! of its header over a plain WebSocket, jsonrpsee's client reading items
//! with positions, and a rolling restart of two chat processes on Redis
//! under a steady `say` rate, followed by rpc-client given both URLs.

mod common;
#[path = "../../tests/tests/common/redis.rs"]
mod redis;

use std::net::{SocketAddr, TcpListener};
use std::process::Command;
use std::time::Duration;

use common::running::{Running, start_with};
use futures_util::{SinkExt as _, StreamExt as _};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

const LIMIT: Duration = Duration::from_secs(120);

async fn within<F: std::future::Future>(test: F) -> F::Output {
    tokio::time::timeout(LIMIT, test)
        .await
        .expect("the test timed out")
}

async fn connect(addr: SocketAddr) -> Ws {
    tokio_tungstenite::connect_async(format!("ws://{addr}"))
        .await
        .expect("connect")
        .0
}

async fn receive(ws: &mut Ws) -> Value {
    loop {
        let message = tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .expect("a message in time")
            .expect("open")
            .expect("readable");
        if let Message::Text(text) = message {
            return serde_json::from_str(&text).expect("JSON");
        }
    }
}

/// Calls `method`; returns its reply, skipping notifications.
async fn call(ws: &mut Ws, method: &str, params: Value) -> Value {
    let request = json!({"jsonrpc": "2.0", "method": method, "params": params, "id": 1});
    ws.send(Message::Text(request.to_string().into()))
        .await
        .expect("send");
    loop {
        let message = receive(ws).await;
        if message.get("id").is_some() {
            return message;
        }
    }
}

/// The next `room` item of subscription `id`: its params.
async fn next_room_item(ws: &mut Ws, id: &Value) -> Value {
    loop {
        let message = receive(ws).await;
        if message["method"] == "room" && message["params"]["subscription"] == *id {
            return message["params"].clone();
        }
    }
}

/// The chat with its rooms in this process, whatever `RPC_REDIS_URL` says
/// (`.ci/run` sets it for the tests that want a Redis).
fn start_local_chat() -> Running {
    start_with("chat", &[], &[("RPC_REDIS_URL", "")])
}

#[tokio::test]
async fn a_follower_resumes_where_it_left_off() {
    within(async {
        let chat = start_local_chat();
        let mut ada = connect(chat.addr).await;
        assert_eq!(
            call(&mut ada, "join", json!({"room": "lobby", "name": "ada"})).await["result"],
            1
        );
        let mut follower = connect(chat.addr).await;
        let id =
            call(&mut follower, "subscribe_room", json!({"room": "lobby"})).await["result"].clone();
        call(&mut ada, "say", json!({"room": "lobby", "text": "hi"})).await;
        let hi = next_room_item(&mut follower, &id).await;
        assert_eq!(
            hi["result"],
            json!({"room": "lobby", "from": "ada", "text": "hi"})
        );
        let since = hi["position"].clone();
        assert!(since["offset"].as_u64().is_some(), "{hi}");
        drop(follower);

        // Said while the follower was away; `join` members get them as
        // `message` notifications all along.
        for text in ["still there?", "bye"] {
            call(&mut ada, "say", json!({"room": "lobby", "text": text})).await;
        }
        let mut follower = connect(chat.addr).await;
        let id = call(
            &mut follower,
            "subscribe_room",
            json!({"room": "lobby", "since": since}),
        )
        .await["result"]
            .clone();
        for (text, step) in [("still there?", 1), ("bye", 2)] {
            let item = next_room_item(&mut follower, &id).await;
            assert_eq!(item["result"]["text"], text, "{item}");
            assert_eq!(
                item["position"]["offset"],
                since["offset"].as_u64().unwrap() + step
            );
            assert_eq!(item["position"]["epoch"], since["epoch"]);
        }
        call(&mut ada, "say", json!({"room": "lobby", "text": "live"})).await;
        assert_eq!(
            next_room_item(&mut follower, &id).await["result"]["text"],
            "live"
        );
        let closed = call(&mut follower, "unsubscribe_room", json!([id])).await;
        assert_eq!(closed["result"], true);

        // A restarted chat has another epoch: told once, then live.
        drop(chat);
        let chat = start_local_chat();
        let mut follower = connect(chat.addr).await;
        let id = call(
            &mut follower,
            "subscribe_room",
            json!({"room": "lobby", "since": since}),
        )
        .await["result"]
            .clone();
        let notice = next_room_item(&mut follower, &id).await;
        assert_eq!(notice["recovered"], false, "{notice}");
        assert_ne!(notice["position"]["epoch"], since["epoch"]);
    })
    .await;
}

/// The issue's own check: `chat` on two instances sharing Redis; a plain
/// WebSocket client follows the lobby on one, drops, misses what is said
/// on the other, and comes back (to either) with `since`: exactly what it
/// missed, then live.
#[tokio::test]
async fn a_follower_resumes_across_two_chats_on_redis() {
    let Some(url) = redis::redis_url().await else {
        return;
    };
    within(async {
        let prefix = redis::unique_prefix("chat-resume");
        let env = [("RPC_REDIS_PREFIX", prefix.as_str())];
        let first = start_with("chat", &["--redis", &url], &env);
        let second = start_with("chat", &["--redis", &url], &env);
        let mut ada = connect(second.addr).await;
        call(&mut ada, "join", json!({"room": "lobby", "name": "ada"})).await;
        let mut follower = connect(first.addr).await;
        let id =
            call(&mut follower, "subscribe_room", json!({"room": "lobby"})).await["result"].clone();
        // Until the first instance hears the lobby.
        let since = loop {
            call(&mut ada, "say", json!({"room": "lobby", "text": "knock"})).await;
            let item = tokio::time::timeout(
                Duration::from_millis(300),
                next_room_item(&mut follower, &id),
            )
            .await;
            if let Ok(item) = item {
                break item["position"].clone();
            }
        };
        drop(follower);
        // Knocks still in flight may arrive after `since`: they come back too.
        tokio::time::sleep(Duration::from_millis(200)).await;
        for n in 0..20 {
            call(
                &mut ada,
                "say",
                json!({"room": "lobby", "text": format!("missed {n}")}),
            )
            .await;
        }
        for addr in [first.addr, second.addr] {
            let mut follower = connect(addr).await;
            let id = call(
                &mut follower,
                "subscribe_room",
                json!({"room": "lobby", "since": since}),
            )
            .await["result"]
                .clone();
            let mut texts = Vec::new();
            let mut offset = since["offset"].as_u64().unwrap();
            while texts.last().map(String::as_str) != Some("missed 19") {
                let item = next_room_item(&mut follower, &id).await;
                offset += 1;
                assert_eq!(
                    item["position"]["offset"], offset,
                    "no gap, no duplicate: {item}"
                );
                texts.push(item["result"]["text"].as_str().unwrap().to_owned());
            }
            texts.retain(|text| text != "knock");
            let expected: Vec<String> = (0..20).map(|n| format!("missed {n}")).collect();
            assert_eq!(texts, expected, "exactly what it missed, from {addr}");
        }
    })
    .await;
}

#[tokio::test]
async fn jsonrpsee_reads_items_with_positions() {
    use jsonrpsee_core::client::{Subscription, SubscriptionClientT as _};
    use jsonrpsee_core::rpc_params;
    within(async {
        let chat = start_local_chat();
        let client = jsonrpsee_ws_client::WsClientBuilder::default()
            .build(format!("ws://{}", chat.addr))
            .await
            .expect("jsonrpsee connects");
        let mut room: Subscription<Value> = client
            .subscribe("subscribe_room", rpc_params!["lobby"], "unsubscribe_room")
            .await
            .expect("subscribed");
        let mut ada = connect(chat.addr).await;
        call(&mut ada, "join", json!({"room": "lobby", "name": "ada"})).await;
        call(&mut ada, "say", json!({"room": "lobby", "text": "hello"})).await;
        let mut texts = Vec::new();
        while texts.len() < 2 {
            let item = tokio::time::timeout(Duration::from_secs(10), room.next())
                .await
                .expect("in time")
                .expect("open")
                .expect("decodes: the position beside the result is ignored");
            texts.push(item["text"].as_str().unwrap().to_owned());
        }
        assert_eq!(texts, ["ada joined", "hello"]);
    })
    .await;
}

/// A port nothing listens on now, for a process to bind (and bind again
/// after a restart).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port()
}

fn start_chat(port: u16, url: &str, prefix: &str) -> Running {
    start_with(
        "chat",
        &["--addr", &format!("127.0.0.1:{port}"), "--redis", url],
        &[("RPC_REDIS_PREFIX", prefix), ("RPC_DRAIN_TIMEOUT", "5s")],
    )
}

/// SIGTERM, then waits for the process to exit.
async fn terminate(mut chat: Running) {
    let terminated = Command::new("kill")
        .args(["-TERM", &chat.child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(terminated.success());
    tokio::task::spawn_blocking(move || {
        let status = chat.child.wait();
        drop(chat);
        status
    })
    .await
    .expect("joined")
    .expect("waited");
}

#[tokio::test]
async fn a_rolling_restart_loses_nothing_for_followers() {
    let Some(url) = redis::redis_url().await else {
        return;
    };
    within(async {
        let prefix = redis::unique_prefix("chat-rolling");
        let ports = [free_port(), free_port()];
        let mut chats = [
            Some(start_chat(ports[0], &url, &prefix)),
            Some(start_chat(ports[1], &url, &prefix)),
        ];
        let urls = ports.map(|port| format!("ws://127.0.0.1:{port}"));
        let client = |first: usize| {
            rpc_client::Client::builder(&urls[first])
                .alternate_url(&urls[1 - first])
                .reconnect(rpc_client::Reconnect::default().max_delay(Duration::from_millis(200)))
                .connect()
        };
        // Followers on both instances, and a speaker.
        let mut followers = Vec::new();
        for first in [0, 1, 0, 1] {
            let follower = client(first).await.expect("connect");
            let room = follower
                .subscribe::<Value>(
                    "subscribe_room",
                    json!({"room": "lobby"}),
                    "unsubscribe_room",
                )
                .await
                .expect("subscribe");
            followers.push((follower, room));
        }
        let speaker = client(0).await.expect("connect");
        let _: usize = speaker
            .call("join", json!({"room": "lobby", "name": "speaker"}))
            .await
            .expect("join");
        // Until every follower hears the room (their instances subscribed).
        for (_, room) in &mut followers {
            loop {
                let _: Result<usize, _> = speaker
                    .call("say", json!({"room": "lobby", "text": "knock"}))
                    .await;
                if let Ok(Some(Ok(_))) =
                    tokio::time::timeout(Duration::from_millis(200), room.next()).await
                {
                    break;
                }
            }
        }

        let speaking = tokio::spawn(async move {
            let mut acknowledged = Vec::new();
            for n in 1..=600_u64 {
                let said: Result<usize, _> = speaker
                    .call("say", json!({"room": "lobby", "text": n.to_string()}))
                    .await;
                if said.is_ok() {
                    acknowledged.push(n);
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            (speaker, acknowledged)
        });
        // SIGTERM one, start it again, then the other.
        for at in [0, 1] {
            tokio::time::sleep(Duration::from_millis(600)).await;
            terminate(chats[at].take().expect("running")).await;
            chats[at] = Some(start_chat(ports[at], &url, &prefix));
        }
        let (_speaker, acknowledged) = speaking.await.expect("the speaker ran");
        assert!(
            acknowledged.len() > 400,
            "most says went through: {}",
            acknowledged.len()
        );
        let last = *acknowledged.last().expect("some");

        for (at, (_client, room)) in followers.iter_mut().enumerate() {
            let mut heard = Vec::new();
            while heard.last() != Some(&last) {
                let item = tokio::time::timeout(Duration::from_secs(15), room.next())
                    .await
                    .unwrap_or_else(|_| panic!("follower {at}: stuck after {:?}", heard.last()))
                    .expect("the stream goes on")
                    .unwrap_or_else(|err| panic!("follower {at}: no error expected: {err}"));
                if let Ok(n) = item["text"].as_str().unwrap_or_default().parse::<u64>() {
                    heard.push(n);
                }
            }
            assert!(
                heard.windows(2).all(|pair| pair[0] < pair[1]),
                "follower {at}: in order, each once: {heard:?}"
            );
            let missing: Vec<u64> = acknowledged
                .iter()
                .copied()
                .filter(|n| !heard.contains(n))
                .collect();
            assert!(missing.is_empty(), "follower {at} missed {missing:?}");
        }
    })
    .await;
}
