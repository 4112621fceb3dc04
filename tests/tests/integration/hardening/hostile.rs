//! Hostile payloads over a real socket: each is answered or refused cleanly,
//! and the server (and the next client) carries on.

use std::time::Duration;

use futures_util::SinkExt as _;
use rpc_server::config::Limits;
use rpc_server::{Server, ServerHandle, rpc_service};
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::Frame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{CloseCode, Data, OpCode};
use ws::{Client, within};

use crate::common::fixtures::LIMIT;
use crate::common::ws;

struct Svc;

#[rpc_service]
impl Svc {
    fn echo(&self, value: serde_json::Value) -> serde_json::Value {
        value
    }

    fn add(&self, a: i64, b: i64) -> i64 {
        a + b
    }
}

fn start(builder: rpc_server::ServerBuilder) -> ServerHandle {
    builder.serve("127.0.0.1:0", Svc).unwrap().spawn()
}

async fn still_serving(server: &ServerHandle) {
    let mut client = Client::connect(server.local_addr()).await;
    assert_eq!(client.call("add", json!([2, 2]), 1).await["result"], 4);
}

#[tokio::test]
async fn a_payload_nested_100000_levels_deep_is_refused_without_a_stack_overflow() {
    within(LIMIT, async {
        let server = start(Server::builder());
        let mut client = Client::connect(server.local_addr()).await;
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        client
            .send(&format!(
                r#"{{"jsonrpc":"2.0","method":"echo","params":[{deep}],"id":1}}"#
            ))
            .await;
        let reply = client.receive_json().await;
        assert_eq!(reply["error"]["code"], -32001);
        assert_eq!(reply["id"], 1);
        // Unclosed nesting is a parse error, just as cleanly.
        client.send(&"[".repeat(100_000)).await;
        assert_eq!(client.receive_json().await["error"]["code"], -32700);
        assert_eq!(client.call("add", json!([1, 2]), 2).await["result"], 3);
        server.shutdown_and_wait().await;
    })
    .await;
}

#[tokio::test]
async fn millions_of_tiny_items_and_an_overlong_string_are_too_large() {
    within(LIMIT, async {
        let server = start(Server::builder());
        let mut client = Client::connect(server.local_addr()).await;
        let items = vec!["0"; 2_000_000].join(",");
        client
            .send(&format!(
                r#"{{"jsonrpc":"2.0","method":"echo","params":[[{items}]],"id":1}}"#
            ))
            .await;
        assert_eq!(client.receive_json().await["error"]["code"], -32001);
        let string = "s".repeat(Limits::default().max_string_length + 1);
        client
            .send(&format!(
                r#"{{"jsonrpc":"2.0","method":"echo","params":["{string}"],"id":2}}"#
            ))
            .await;
        assert_eq!(client.receive_json().await["error"]["code"], -32001);
        assert_eq!(client.call("add", json!([1, 2]), 3).await["result"], 3);
        server.shutdown_and_wait().await;
    })
    .await;
}

#[tokio::test]
async fn binary_garbage_is_a_parse_error() {
    within(LIMIT, async {
        let server = start(Server::builder());
        let mut client = Client::connect(server.local_addr()).await;
        let garbage: Vec<u8> = (0..4096u32)
            .map(|n| (n.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        client.send_binary(&garbage).await;
        assert_eq!(client.receive_json().await["error"]["code"], -32700);
        assert_eq!(client.call("add", json!([1, 2]), 1).await["result"], 3);
        server.shutdown_and_wait().await;
    })
    .await;
}

#[tokio::test]
async fn an_invalid_utf8_text_frame_closes_with_1007() {
    within(LIMIT, async {
        let server = start(Server::builder());
        let mut client = Client::connect(server.local_addr()).await;
        let frame = Frame::message(vec![b'{', 0xff, 0xfe, b'}'], OpCode::Data(Data::Text), true);
        client.ws.send(Message::Frame(frame)).await.unwrap();
        let close = client.closed().await.expect("a close frame");
        assert_eq!(close.code, CloseCode::Invalid);
        still_serving(&server).await;
        server.shutdown_and_wait().await;
    })
    .await;
}

#[tokio::test]
async fn fragments_that_together_exceed_the_hard_cap_close_with_1009() {
    within(LIMIT, async {
        let server = start(Server::builder().max_frame_size(64 * 1024));
        let mut client = Client::connect(server.local_addr()).await;
        // Each fragment is small; together they pass the cap.
        let chunk = vec![b' '; 16 * 1024];
        let first = Frame::message(chunk.clone(), OpCode::Data(Data::Text), false);
        client.ws.send(Message::Frame(first)).await.unwrap();
        for _ in 0..8 {
            let next = Frame::message(chunk.clone(), OpCode::Data(Data::Continue), false);
            if client.ws.send(Message::Frame(next)).await.is_err() {
                break;
            }
        }
        let close = client.closed().await.expect("a close frame");
        assert_eq!(close.code, CloseCode::Size);
        still_serving(&server).await;
        server.shutdown_and_wait().await;
    })
    .await;
}

/// A response that matches no call (a late one, say) is dropped: answering
/// it would let two peers trade errors forever.
#[tokio::test]
async fn a_stray_response_is_dropped_and_never_answered() {
    within(LIMIT, async {
        let server = start(Server::builder());
        let mut client = Client::connect(server.local_addr()).await;
        client.send(r#"{"jsonrpc":"2.0","result":1,"id":99}"#).await;
        client
            .send(r#"{"jsonrpc":"2.0","error":{"code":-32601,"message":"Method not found"},"id":98}"#)
            .await;
        client
            .send(r#"[{"jsonrpc":"2.0","result":1,"id":97},{"jsonrpc":"2.0","method":"add","params":[1,2],"id":5}]"#)
            .await;
        // The first thing back is the answer to the one call.
        let reply = client.receive_json().await;
        assert_eq!(reply, json!([{"jsonrpc": "2.0", "result": 3, "id": 5}]));
        // Not a response (no `result`, no `error`): still Invalid Request.
        client.send(r#"{"jsonrpc":"2.0","id":4}"#).await;
        assert_eq!(client.receive_json().await["error"]["code"], -32600);
        server.shutdown_and_wait().await;
    })
    .await;
}

/// A handshake whose headers pass `max_header_bytes` is answered 431 and
/// closed, before `on_connect`: no connection keeps 40 KiB of headers.
#[tokio::test]
async fn a_handshake_with_oversized_headers_gets_431() {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    within(LIMIT, async {
        let server = start(Server::builder());
        let filler = "x".repeat(1024);
        let mut request = String::from(
            "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n",
        );
        for i in 0..40 {
            request.push_str(&format!("x-filler-{i}: {filler}\r\n"));
        }
        request.push_str("\r\n");
        let mut stream = tokio::net::TcpStream::connect(server.local_addr())
            .await
            .unwrap();
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut answer = Vec::new();
        let read = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut answer));
        read.await.expect("closed by the server").unwrap();
        let answer = String::from_utf8_lossy(&answer);
        assert!(answer.starts_with("HTTP/1.1 431"), "{answer}");
        still_serving(&server).await;
        server.shutdown_and_wait().await;
    })
    .await;
}
