//! Large messages, which the server reads and writes beside tungstenite
//! (so that its buffers never grow to their size): on the wire they behave
//! exactly as small ones, in order with everything around them, and every
//! rule (UTF-8, the frame cap, the message timeout, the closing handshake)
//! holds for them too.

use std::time::Duration;

use futures_util::{SinkExt as _, StreamExt as _};
use rpc_server::{Server, ServerHandle, rpc_service};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::Frame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{CloseCode, Data, OpCode};
use tokio_tungstenite::tungstenite::{Bytes, Message};

use crate::common::fixtures::LIMIT;
use crate::common::ws::{Client, close_code, within};

struct Svc;

#[rpc_service]
impl Svc {
    fn echo(&self, s: String) -> String {
        s
    }

    fn add(&self, a: i64, b: i64) -> i64 {
        a + b
    }
}

fn start(builder: rpc_server::ServerBuilder) -> ServerHandle {
    builder.serve("127.0.0.1:0", Svc).unwrap().spawn()
}

fn call(method: &str, params: Value, id: u64) -> String {
    json!({"jsonrpc": "2.0", "method": method, "params": params, "id": id}).to_string()
}

/// `len` bytes of text that vary, so that a byte out of place shows.
fn text(len: usize) -> String {
    (0..len)
        .map(|i| char::from(b'a' + (i % 26) as u8))
        .collect()
}

/// Small and large calls, pings and a binary call, pipelined: every reply
/// arrives whole, in order, and the pong too.
#[tokio::test]
async fn large_and_small_messages_keep_their_order() {
    within(LIMIT, async {
        let server = start(Server::builder());
        let mut client = Client::connect(server.local_addr()).await;
        // Around the thresholds too: frames of about 512 bytes
        // (tungstenite's read buffer), replies of about 8 KiB (its write
        // buffer).
        let sizes = [
            10,
            3_000,
            70_000,
            5,
            1 << 20,
            440,
            450,
            460,
            8_150,
            8_192,
            100,
        ];
        for (id, size) in sizes.iter().enumerate() {
            client
                .send(&call("echo", json!([text(*size)]), id as u64))
                .await;
            if id == 3 {
                client
                    .ws
                    .send(Message::Ping(Bytes::from_static(b"p")))
                    .await
                    .unwrap();
            }
        }
        let binary = call("add", json!([40, 2]), 99).into_bytes();
        let padded = [binary, vec![b' '; 10_000]].concat();
        client
            .ws
            .send(Message::Binary(padded.into()))
            .await
            .unwrap();
        let mut pong = false;
        let mut replies = Vec::new();
        while replies.len() < sizes.len() + 1 {
            match client.ws.next().await.expect("open").expect("a message") {
                Message::Text(reply) => {
                    replies.push(serde_json::from_str::<Value>(&reply).unwrap())
                }
                Message::Pong(payload) => pong = payload == b"p"[..],
                other => panic!("unexpected {other:?}"),
            }
        }
        for (id, size) in sizes.iter().enumerate() {
            assert_eq!(replies[id]["id"], id);
            assert_eq!(replies[id]["result"], text(*size), "reply {id}");
        }
        assert_eq!(replies[sizes.len()]["result"], 42);
        assert!(pong, "the ping was answered");
        server.shutdown_and_wait().await;
    })
    .await;
}

/// A large text message that is not UTF-8 closes with 1007, as a small one
/// does, and the server carries on.
#[tokio::test]
async fn a_large_text_frame_that_is_not_utf8_closes_with_1007() {
    within(LIMIT, async {
        let server = start(Server::builder());
        let mut client = Client::connect(server.local_addr()).await;
        let mut payload = call("echo", json!([text(10_000)]), 1).into_bytes();
        payload[5_000] = 0xff;
        let frame = Frame::message(payload, OpCode::Data(Data::Text), true);
        client.ws.send(Message::Frame(frame)).await.unwrap();
        let close = client.closed().await.expect("a close frame");
        assert_eq!(close.code, CloseCode::Invalid);
        let mut next = Client::connect(server.local_addr()).await;
        assert_eq!(next.call("add", json!([1, 2]), 1).await["result"], 3);
        server.shutdown_and_wait().await;
    })
    .await;
}

/// A large message past the frame cap closes with 1009; one at the cap is
/// answered.
#[tokio::test]
async fn the_frame_cap_holds_for_large_messages() {
    within(LIMIT, async {
        let server = start(Server::builder().max_frame_size(100_000));
        let mut client = Client::connect(server.local_addr()).await;
        let request = call("echo", json!([""]), 1);
        let at_cap = format!("{request}{}", " ".repeat(100_000 - request.len()));
        client.send(&at_cap).await;
        assert_eq!(client.receive_json().await["result"], "");
        client.send(&format!("{at_cap} ")).await;
        let close = client.closed().await.expect("a close frame");
        assert_eq!(close.code, CloseCode::Size);
        server.shutdown_and_wait().await;
    })
    .await;
}

/// A large message sent a byte at a time is cut off at the message
/// timeout (1008), while its bytes are still arriving.
#[tokio::test]
async fn a_large_message_trickled_is_cut_off_with_1008() {
    within(LIMIT, async {
        let server = start(Server::builder().message_timeout(Some(Duration::from_millis(500))));
        let client = Client::connect(server.local_addr()).await;
        let (mut reader, mut writer) = client.into_raw().into_split();
        // A text frame promising 10,000 bytes (zero mask), then a byte
        // every 50 ms.
        let trickling = tokio::spawn(async move {
            writer
                .write_all(&[0x81, 0x80 | 126, 0x27, 0x10, 0, 0, 0, 0])
                .await
                .unwrap();
            for _ in 0..10_000 {
                if writer.write_all(b" ").await.is_err() {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        });
        let mut received = Vec::new();
        reader.read_to_end(&mut received).await.unwrap();
        assert_eq!(close_code(&received), 1008);
        trickling.abort();
        server.shutdown_and_wait().await;
    })
    .await;
}

/// A client that asks for a large reply and closes at once gets the reply,
/// then the answer to its close: tungstenite's close frame waits for the
/// last byte of the reply written beside it.
#[tokio::test]
async fn a_close_right_after_a_large_call_follows_its_reply() {
    within(LIMIT, async {
        let server = start(Server::builder());
        let mut client = Client::connect(server.local_addr()).await;
        // Under the 1 MiB string limit.
        let large = text(1_000_000);
        client.send(&call("echo", json!([large]), 1)).await;
        let close = CloseFrame {
            code: CloseCode::Normal,
            reason: "done".into(),
        };
        client.ws.send(Message::Close(Some(close))).await.unwrap();
        let reply = match client.ws.next().await {
            Some(Ok(Message::Text(reply))) => reply,
            other => panic!("closed before the reply: {other:?}"),
        };
        assert_eq!(
            serde_json::from_str::<Value>(&reply).unwrap()["result"],
            large
        );
        let answer = client.closed().await.expect("the close answered");
        assert_eq!(answer.code, CloseCode::Normal);
        server.shutdown_and_wait().await;
    })
    .await;
}
