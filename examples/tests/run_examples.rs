//! Runs each example's binary on a free port and makes calls to it, the
//! way its header says to use it.

mod common;
#[path = "../../tests/tests/common/http.rs"]
mod http;
#[path = "../../tests/tests/common/redis.rs"]
mod redis;

use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::running::{example_binary, start, start_with};

use futures_util::{SinkExt as _, StreamExt as _};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

/// Sends each frame and collects the replies (`None` if nothing comes
/// within half a second, as for a notification).
async fn exchange(addr: SocketAddr, frames: &[Value]) -> Vec<Option<Value>> {
    exchange_as(addr, None, frames).await
}

/// [`exchange`], connecting with `Authorization: Bearer <token>`.
async fn exchange_as(
    addr: SocketAddr,
    token: Option<&str>,
    frames: &[Value],
) -> Vec<Option<Value>> {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
    let mut request = format!("ws://{addr}")
        .into_client_request()
        .expect("a request");
    if let Some(token) = token {
        let value = format!("Bearer {token}").parse().expect("a header value");
        request.headers_mut().insert("authorization", value);
    }
    let (mut ws, _) = tokio_tungstenite::connect_async(request)
        .await
        .expect("connect");
    let mut replies = Vec::new();
    for frame in frames {
        ws.send(Message::Text(frame.to_string().into()))
            .await
            .expect("send");
        let reply = tokio::time::timeout(Duration::from_millis(500), ws.next()).await;
        replies.push(match reply {
            Ok(Some(Ok(Message::Text(text)))) => Some(serde_json::from_str(&text).expect("JSON")),
            _ => None,
        });
    }
    replies
}

fn call(method: &str, params: Value, id: u64) -> Value {
    json!({"jsonrpc": "2.0", "method": method, "params": params, "id": id})
}

#[tokio::test]
async fn calculator() {
    let example = start("calculator");
    let replies = exchange(
        example.addr,
        &[
            call("subtract", json!([42, 23]), 1),
            call("math.divide", json!({"a": 1, "b": 4}), 2),
            call("math.divide", json!([1, 0]), 3),
            json!({"jsonrpc": "2.0", "method": "log", "params": ["hi"]}),
            call("whoami", json!([]), 4),
            json!({"jsonrpc": "2.0", "method": "rpc.discover", "id": 5}),
        ],
    )
    .await;
    assert_eq!(replies[0].as_ref().unwrap()["result"], 19);
    assert_eq!(replies[1].as_ref().unwrap()["result"], 0.25);
    assert_eq!(replies[2].as_ref().unwrap()["error"]["code"], 4000);
    assert!(replies[3].is_none(), "a notification gets no reply");
    assert!(
        replies[4].as_ref().unwrap()["result"]
            .as_str()
            .unwrap()
            .starts_with("you are 127.0.0.1")
    );
    assert_eq!(
        replies[5].as_ref().unwrap()["result"]["info"]["title"],
        "Calculator"
    );
}

#[tokio::test]
async fn spec_examples() {
    let example = start("spec_examples");
    let replies = exchange(
        example.addr,
        &[
            call("subtract", json!([42, 23]), 1),
            call("subtract", json!({"subtrahend": 23, "minuend": 42}), 2),
            call("sum", json!([1, 2, 4]), 3),
            json!({"jsonrpc": "2.0", "method": "update", "params": [1, 2, 3, 4, 5]}),
            json!({"jsonrpc": "2.0", "method": "get_data", "id": 4}),
            json!([
                {"jsonrpc": "2.0", "method": "notify_sum", "params": [1, 2, 4]},
                {"jsonrpc": "2.0", "method": "notify_hello", "params": [7]}
            ]),
        ],
    )
    .await;
    assert_eq!(replies[0].as_ref().unwrap()["result"], 19);
    assert_eq!(replies[1].as_ref().unwrap()["result"], 19);
    assert_eq!(replies[2].as_ref().unwrap()["result"], 7.0);
    assert!(replies[3].is_none());
    assert_eq!(replies[4].as_ref().unwrap()["result"], json!(["hello", 5]));
    assert!(
        replies[5].is_none(),
        "a batch of notifications gets no reply"
    );
}

/// `RPC_JSONRPC1=true cargo run -p examples --example spec_examples`
/// answers JSON-RPC 1.0 as well: every example reads `ServerConfig::from_env`.
#[tokio::test]
async fn spec_examples_with_jsonrpc_1_0() {
    let example = start_with("spec_examples", &[], &[("RPC_JSONRPC1", "true")]);
    let replies = exchange(
        example.addr,
        &[
            json!({"method": "subtract", "params": [42, 23], "id": 1}),
            json!({"method": "update", "params": [1, 2], "id": null}),
            call("subtract", json!([42, 23]), 2),
        ],
    )
    .await;
    assert_eq!(
        replies[0],
        Some(json!({"result": 19, "error": null, "id": 1}))
    );
    assert!(replies[1].is_none(), "a 1.0 notification gets no reply");
    assert_eq!(
        replies[2],
        Some(json!({"jsonrpc": "2.0", "result": 19, "id": 2}))
    );
}

#[tokio::test]
async fn ping() {
    let example = start("ping");
    let replies = exchange(
        example.addr,
        &[
            call("ping", json!([]), 1),
            call("mymodule.rpc.ping", json!([]), 2),
            call("fail", json!([true]), 3),
            json!({"jsonrpc": "2.0", "method": "heartbeat"}),
            call("heartbeats", json!([]), 4),
        ],
    )
    .await;
    assert_eq!(replies[0].as_ref().unwrap()["result"], "pong");
    assert_eq!(replies[1].as_ref().unwrap()["result"], "pong");
    assert_eq!(replies[2].as_ref().unwrap()["error"]["code"], -32000);
    assert!(replies[3].is_none());
    assert_eq!(replies[4].as_ref().unwrap()["result"], 1);
}

#[tokio::test]
async fn tour() {
    let example = start("tour");
    // No token: refused before the upgrade.
    match tokio_tungstenite::connect_async(format!("ws://{}", example.addr)).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 401)
        }
        other => panic!("expected 401, got {other:?}"),
    }
    let discover = json!({"jsonrpc": "2.0", "method": "rpc.discover", "id": 9});
    let guest = exchange_as(
        example.addr,
        Some("guest-token"),
        &[
            call("ping", json!([]), 1),
            call("mymodule.rpc.ping", json!({"fake_an_error": true}), 2),
            call("get_user_info", json!([]), 3),
            call("export_report", json!([2026]), 4),
            discover.clone(),
        ],
    )
    .await;
    assert_eq!(guest[0].as_ref().unwrap()["result"], "pong");
    assert_eq!(
        guest[1].as_ref().unwrap()["error"],
        json!({"code": -32000, "message": "fake_error", "data": ["fake_error"]})
    );
    let info = &guest[2].as_ref().unwrap()["result"];
    assert_eq!(info["username"], "guest");
    assert_eq!(info["rpc_id"], "3");
    assert_eq!(guest[3].as_ref().unwrap()["error"]["code"], -32601);
    let methods = |reply: &Value| -> Vec<String> {
        reply["result"]["methods"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["name"].as_str().unwrap().to_owned())
            .collect()
    };
    assert!(!methods(guest[4].as_ref().unwrap()).contains(&"export_report".to_owned()));
    example.wait_for_line("counters:");

    let admin = exchange_as(
        example.addr,
        Some("admin-token"),
        &[call("export_report", json!([2026]), 1), discover],
    )
    .await;
    assert_eq!(admin[0].as_ref().unwrap()["result"], "report for 2026");
    assert!(methods(admin[1].as_ref().unwrap()).contains(&"export_report".to_owned()));
    // The logging middleware and the counting hooks saw it all.
    example.wait_for_line("call export_report -> ok");
    let counters = example.wait_for_line("counters:");
    assert!(
        counters.contains("connected=2 disconnected=2"),
        "{counters}"
    );
    assert!(
        counters.contains("started=7 completed=5 failed=2"),
        "{counters}"
    );
}

/// Runs an example to completion (within 30 s) and returns its output.
fn run_to_end(name: &str, args: &[&str]) -> String {
    let mut child = Command::new(example_binary(name))
        .args(args)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|err| panic!("run example {name}: {err}"));
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            let mut output = String::new();
            std::io::Read::read_to_string(&mut child.stdout.take().expect("stdout"), &mut output)
                .expect("read output");
            assert!(status.success(), "example {name} failed: {output}");
            return output;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("example {name} did not finish within 30 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[tokio::test]
async fn chat() {
    let example = start("chat");
    let mut members = Vec::new();
    for name in ["ada", "bob", "cy"] {
        members.push(Member::join(example.addr, name).await);
    }
    assert_eq!(members[0].say("hi all").await, 3);
    for member in &mut members {
        // Skip the "joined" announcements; the message arrives exactly once.
        let mut got = Vec::new();
        while let Ok(Some(message)) =
            tokio::time::timeout(Duration::from_millis(500), member.inbox.recv()).await
        {
            if message["text"] == "hi all" {
                got.push(message);
            }
        }
        assert_eq!(
            got,
            [json!({"room": "lobby", "from": "ada", "text": "hi all"})]
        );
    }
}

#[test]
fn bidirectional() {
    let output = run_to_end("bidirectional", &["--addr", "127.0.0.1:0"]);
    assert!(
        output.contains("server said: Hello, the client!"),
        "{output}"
    );
}

#[test]
fn tracing_otel() {
    let output = run_to_end("tracing_otel", &["--addr", "127.0.0.1:0"]);
    assert!(
        output.contains(r#"{"jsonrpc":"2.0","result":5,"id":1}"#),
        "{output}"
    );
    // Both spans carry the caller's trace id; the request's parent is the
    // caller's span.
    for span in ["rpc_call", "rpc_request"] {
        let printed = output
            .split("Span #")
            .find(|block| block.contains(&format!("Name         : {span}")))
            .unwrap_or_else(|| panic!("no {span} in {output}"));
        assert!(
            printed.contains("TraceId      : 4bf92f3577b34da6a3ce929d0e0e4736"),
            "{printed}"
        );
    }
    assert!(
        output.contains("ParentSpanId : 00f067aa0ba902b7"),
        "{output}"
    );
}

#[test]
fn typed_client() {
    let calculator = start("calculator");
    let url = format!("ws://{}", calculator.addr);
    let output = run_to_end("typed_client", &["--url", &url]);
    for line in [
        "42 - 23 = 19",
        "2 + 3 = 5",
        "1 / 4 = 0.25",
        "1 / 0 fails: division by zero (4000)",
    ] {
        assert!(output.contains(line), "{line:?} missing from {output}");
    }
    calculator.wait_for_line("client says: typed client was here");
}

/// A chat member: its client and what it received.
struct Member {
    client: rpc_client::Client,
    inbox: tokio::sync::mpsc::UnboundedReceiver<Value>,
}

impl Member {
    async fn join(addr: SocketAddr, name: &str) -> Self {
        let (tx, inbox) = tokio::sync::mpsc::unbounded_channel::<Value>();
        let client = rpc_client::Client::builder(&format!("ws://{addr}"))
            .on_notification("message", move |params| {
                let _ = tx.send(params.parse().expect("a message"));
            })
            .connect()
            .await
            .expect("connect");
        client
            .call::<usize>("join", json!({"room": "lobby", "name": name}))
            .await
            .expect("join");
        Self { client, inbox }
    }

    async fn say(&self, text: &str) -> usize {
        self.client
            .call("say", json!({"room": "lobby", "text": text}))
            .await
            .expect("say")
    }

    /// The texts received from `from` until `last` (announcements skipped).
    async fn texts_from(&mut self, from: &str, last: &str) -> Vec<String> {
        let mut texts = Vec::new();
        loop {
            let message = tokio::time::timeout(Duration::from_secs(10), self.inbox.recv())
                .await
                .expect("the message arrives")
                .expect("connected");
            if message["from"] == from {
                let text = message["text"].as_str().expect("text").to_owned();
                texts.push(text.clone());
                if text == last {
                    return texts;
                }
            }
        }
    }
}

#[tokio::test]
async fn chat_on_two_instances_sharing_redis() {
    let Some(url) = redis::redis_url().await else {
        return;
    };
    let prefix = redis::unique_prefix("chat-example");
    let env = [("RPC_REDIS_PREFIX", prefix.as_str())];
    let first = start_with("chat", &["--redis", &url], &env);
    let second = start_with("chat", &[], &[("RPC_REDIS_URL", url.as_str()), env[0]]);
    let mut ada = Member::join(first.addr, "ada").await;
    let mut bob = Member::join(second.addr, "bob").await;
    let mut cy = Member::join(second.addr, "cy").await;

    // Joining is asynchronous across instances: ada's instance hears the
    // lobby once its subscription is confirmed. Knock until both sides do.
    let mut knocks = 0;
    let knocked = async {
        loop {
            knocks += 1;
            ada.say(&format!("knock {knocks}")).await;
            cy.say("knock back").await;
            tokio::time::sleep(Duration::from_millis(50)).await;
            while let Ok(message) = bob.inbox.try_recv() {
                if message["from"] == "ada" {
                    return;
                }
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(10), knocked)
        .await
        .expect("the instances share the lobby");
    ada.texts_from("cy", "knock back").await;

    // From now on every message reaches every member once, in order,
    // whichever instance it was said on.
    assert_eq!(ada.say("one").await, 1, "this instance's members");
    assert_eq!(ada.say("two").await, 1);
    for member in [&mut bob, &mut cy] {
        let texts = member.texts_from("ada", "two").await;
        assert_eq!(texts[texts.len() - 2..], ["one", "two"]);
    }
    let mut on_first = ada.texts_from("ada", "two").await;
    on_first.retain(|text| !text.starts_with("knock"));
    assert_eq!(on_first, ["one", "two"]);
    // (Said only now: what one member says reaches the members of its own
    // instance before another's message through Redis, so the order of
    // messages from different senders can differ between members.)
    assert_eq!(bob.say("three").await, 2, "bob and cy are on the second");
    for member in [&mut ada, &mut cy] {
        assert_eq!(member.texts_from("bob", "three").await, ["three"]);
    }
}

#[tokio::test]
async fn http() {
    let example = start("http");
    // What the header's curl lines do.
    let body = r#"{"jsonrpc":"2.0","method":"subtract","params":[42,23],"id":1}"#;
    let response = http::post(example.addr, body).await;
    assert_eq!(response.status, 200, "{response:?}");
    assert!(
        response
            .body
            .ends_with(r#"{"jsonrpc":"2.0","result":19,"id":1}"#),
        "{response:?}"
    );
    let response = http::request(example.addr, "GET", "/openrpc.json", &[], "").await;
    assert!(
        response
            .body
            .contains(r#""title":"Calculator over WebSocket and HTTP""#),
        "{response:?}"
    );

    // And the same port speaks WebSocket.
    let replies = exchange(example.addr, &[call("transport", json!([]), 1)]).await;
    assert_eq!(replies[0].as_ref().unwrap()["result"], "websocket");
}

/// The axum app: its own route at `/`, JSON-RPC at `/rpc` over HTTP and
/// WebSocket, a push from an axum handler to the RPC clients, and SIGTERM
/// draining both.
#[tokio::test]
async fn axum_app() {
    let mut example = start("axum_app");
    let addr = example.addr;
    let root = http::request(addr, "GET", "/", &[], "").await;
    assert_eq!(root.status, 200, "{root:?}");
    assert!(
        root.body.ends_with("an axum app; JSON-RPC is at /rpc\n"),
        "{root:?}"
    );

    let body = r#"{"jsonrpc":"2.0","method":"subtract","params":[42,23],"id":1}"#;
    let json = [("content-type", "application/json")];
    let answer = http::request(addr, "POST", "/rpc", &json, body).await;
    assert!(
        answer
            .body
            .ends_with(r#"{"jsonrpc":"2.0","result":19,"id":1}"#),
        "{answer:?}"
    );
    let document = http::request(addr, "GET", "/rpc/openrpc.json", &[], "").await;
    assert!(
        document
            .body
            .contains(r#""title":"Calculator in an axum app""#),
        "{document:?}"
    );

    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/rpc"))
        .await
        .expect("connect");
    for request in [
        call("subtract", json!([5, 3]), 1),
        call("subscribe", json!([]), 2),
    ] {
        ws.send(Message::Text(request.to_string().into()))
            .await
            .expect("send");
    }
    assert_eq!(receive_json(&mut ws).await["result"], 2);
    assert_eq!(receive_json(&mut ws).await["id"], 2);
    let sent = http::request(addr, "POST", "/announce", &[], "hello").await;
    assert!(sent.body.ends_with("sent to 1\n"), "{sent:?}");
    let pushed = receive_json(&mut ws).await;
    assert_eq!(pushed["method"], "announcement");
    assert_eq!(pushed["params"], json!(["hello"]));

    // SIGTERM: the WebSocket closes with 1001 and the process exits 0.
    let terminated = Command::new("kill")
        .args(["-TERM", &example.child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(terminated.success());
    let closed = tokio::time::timeout(Duration::from_secs(10), ws.next())
        .await
        .expect("closed in time");
    match closed {
        Some(Ok(Message::Close(Some(frame)))) => assert_eq!(u16::from(frame.code), 1001),
        other => panic!("not a 1001 close: {other:?}"),
    }
    let status = tokio::task::spawn_blocking(move || example.child.wait());
    let status = tokio::time::timeout(Duration::from_secs(10), status)
        .await
        .expect("the process ends in time")
        .expect("joined");
    assert!(status.expect("waited").success(), "exits 0");
}

#[tokio::test]
async fn bench_server() {
    let example = start("bench_server");
    let replies = exchange(
        example.addr,
        &[
            call("add", json!([20, 22]), 1),
            call("echo", json!(["x".repeat(1024)]), 2),
            json!([
                call("add", json!([1, 1]), 3),
                call("add", json!({"a": 2, "b": 2}), 4)
            ]),
        ],
    )
    .await;
    assert_eq!(replies[0].as_ref().unwrap()["result"], 42);
    assert_eq!(replies[1].as_ref().unwrap()["result"], "x".repeat(1024));
    let batch = replies[2].as_ref().unwrap().as_array().unwrap();
    let results: Vec<&Value> = batch.iter().map(|reply| &reply["result"]).collect();
    assert_eq!(results, [&json!(2), &json!(4)]);
}

/// SIGTERM (what systemd, Docker and Kubernetes send on every deploy) while
/// 20 clients have calls in flight: every call answered, every client
/// closed with 1001, and the process exits 0.
#[tokio::test]
async fn sigterm_drains_every_call_and_exits_0() {
    let mut example = start("bench_server");
    let mut clients = Vec::new();
    for id in 0..20 {
        let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{}", example.addr))
            .await
            .expect("connect");
        let request = call("sleep", json!([500]), id);
        ws.send(Message::Text(request.to_string().into()))
            .await
            .expect("send");
        clients.push(ws);
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    let terminated = Command::new("kill")
        .args(["-TERM", &example.child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(terminated.success());
    for (id, mut ws) in clients.into_iter().enumerate() {
        let reply = receive_json(&mut ws).await;
        assert_eq!(reply["id"], id, "{reply}");
        assert_eq!(reply["result"], 500, "answered, not cut: {reply}");
        let closed = tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .expect("closed in time");
        match closed {
            Some(Ok(Message::Close(Some(frame)))) => assert_eq!(u16::from(frame.code), 1001),
            other => panic!("not a 1001 close: {other:?}"),
        }
    }
    let status = tokio::task::spawn_blocking(move || {
        let status = example.child.wait();
        (status, example)
    });
    let (status, _example) = tokio::time::timeout(Duration::from_secs(10), status)
        .await
        .expect("the process ends in time")
        .expect("joined");
    assert!(status.expect("waited").success(), "exits 0");
}

/// The session in the example's header: items start, start + 1, … under
/// the id the reply gave, until the unsubscribe.
#[tokio::test]
async fn subscriptions() {
    let example = start("subscriptions");
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{}", example.addr))
        .await
        .expect("connect");
    let request = call("subscribe_counter", json!([5, 20]), 1);
    ws.send(Message::Text(request.to_string().into()))
        .await
        .expect("send");
    let reply = receive_json(&mut ws).await;
    let id = reply["result"]
        .as_str()
        .expect("a subscription id")
        .to_owned();
    for n in 5..8 {
        let item = receive_json(&mut ws).await;
        assert_eq!(
            item,
            json!({"jsonrpc": "2.0", "method": "counter", "params": {"subscription": id, "result": n}})
        );
    }
    let request = call("unsubscribe_counter", json!([id]), 2);
    ws.send(Message::Text(request.to_string().into()))
        .await
        .expect("send");
    loop {
        let message = receive_json(&mut ws).await;
        if message["id"] == 2 {
            assert_eq!(message["result"], true);
            break;
        }
    }
    // A refusal from the method itself.
    let request = call("subscribe_counter", json!([0, 1]), 3);
    ws.send(Message::Text(request.to_string().into()))
        .await
        .expect("send");
    assert_eq!(receive_json(&mut ws).await["error"]["code"], -32602);

    // Our client, typed.
    let client = rpc_client::Client::connect(&format!("ws://{}", example.addr))
        .await
        .expect("connect");
    let counter = client
        .subscribe::<u64>("subscribe_counter", (5, 20), "unsubscribe_counter")
        .await
        .expect("subscribed");
    let items: Vec<u64> = counter
        .take(3)
        .map(|item| item.expect("an item"))
        .collect()
        .await;
    assert_eq!(items, [5, 6, 7]);
    client.close().await;

    // jsonrpsee's client.
    use jsonrpsee_core::client::{Subscription, SubscriptionClientT as _};
    let jsonrpsee = jsonrpsee_ws_client::WsClientBuilder::default()
        .build(format!("ws://{}", example.addr))
        .await
        .expect("connect");
    let mut counter: Subscription<u64> = jsonrpsee
        .subscribe(
            "subscribe_counter",
            jsonrpsee_core::rpc_params![5, 20],
            "unsubscribe_counter",
        )
        .await
        .expect("subscribed");
    for n in 5..8 {
        assert_eq!(counter.next().await.expect("open").expect("an item"), n);
    }
    counter.unsubscribe().await.expect("unsubscribed");
}

async fn receive_json<S>(ws: &mut S) -> Value
where
    S: futures_util::Stream<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin,
{
    let message = tokio::time::timeout(Duration::from_secs(10), ws.next())
        .await
        .expect("in time");
    match message {
        Some(Ok(Message::Text(text))) => serde_json::from_str(&text).expect("JSON"),
        other => panic!("not a text message: {other:?}"),
    }
}

/// The first line an example writes on stderr, with `env` set.
fn first_log_line(name: &str, env: &[(&str, &str)]) -> String {
    let mut child = Command::new(example_binary(name))
        .args(["--addr", "127.0.0.1:0"])
        .envs(env.iter().copied())
        .env_remove("RUST_LOG")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run the example");
    let stderr = child.stderr.take().expect("stderr");
    let (sender, lines) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead as _;
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            let _ = sender.send(line);
        }
    });
    let line = lines.recv_timeout(Duration::from_secs(10));
    let _ = child.kill();
    let _ = child.wait();
    line.expect("a log line")
}

#[test]
fn examples_log_where_they_listen_their_limits_and_features() {
    // Readable by default (RUST_LOG unset: info)…
    let line = first_log_line("calculator", &[("RPC_MAX_CONNECTIONS", "7")]);
    for part in [
        "INFO",
        "serving JSON-RPC over WebSocket and HTTP",
        "url=ws://127.0.0.1:",
        "max_connections=7",
        "request_timeout=60s",
        "rate_limit=off",
        "explorer=true",
    ] {
        assert!(line.contains(part), "{part:?} in {line}");
    }
    // …and JSON lines on request.
    let line = first_log_line(
        "calculator",
        &[("RPC_LOG_FORMAT", "json"), ("RPC_JSONRPC1", "true")],
    );
    let log: Value = serde_json::from_str(&line).expect("a JSON line");
    assert_eq!(log["level"], "INFO");
    assert_eq!(log["fields"]["jsonrpc1"], true);
    assert_eq!(log["fields"]["max_connections"], 10_000);
}
