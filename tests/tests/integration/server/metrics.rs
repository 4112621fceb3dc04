//! `GET /metrics`: exact counts after a known sequence of calls,
//! connections and refusals; a label set that clients cannot grow; nothing
//! served when metrics are off.

use std::time::{Duration, Instant};

use rpc_server::groups::SlowMemberPolicy;
use rpc_server::{RpcContext, RpcError, Server, ServerHandle, rpc_service};
use serde_json::json;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use ws::{Client, within};

use crate::common::fixtures::LIMIT;
use crate::common::http::{self, assert_metrics, metrics, metrics_with, post};
use crate::common::ws;

struct Api;

#[rpc_service]
impl Api {
    async fn add(&self, a: i64, b: i64) -> i64 {
        a + b
    }

    /// Joins the group `flood` and broadcasts `count` messages of 1 KiB to
    /// it at once: nothing drains the caller's queue meanwhile.
    fn flood(&self, ctx: &RpcContext, count: usize) -> Result<(), RpcError> {
        ctx.join("flood")?;
        let peer = ctx.peer().ok_or_else(|| RpcError::application("no peer"))?;
        for _ in 0..count {
            peer.notify_group("flood", "item", ["x".repeat(1024)])?;
        }
        Ok(())
    }

    /// Never answers.
    async fn hang(&self) {
        std::future::pending::<()>().await;
    }
}

fn start(builder: rpc_server::ServerBuilder) -> ServerHandle {
    builder.serve("127.0.0.1:0", Api).unwrap().spawn()
}

#[tokio::test]
async fn a_known_sequence_is_counted_exactly() {
    within(LIMIT, async {
        let server = start(
            Server::builder()
                .metrics(true)
                .allowed_origins(["https://app.example.com"]),
        );
        let addr = server.local_addr();
        let mut client = Client::connect(addr).await;
        for id in 1..=2 {
            let reply = client.call("add", json!([id, 1]), id).await;
            assert_eq!(reply["result"], id + 1);
        }
        let reply = client.call("nope", json!([]), 3).await;
        assert_eq!(reply["error"]["code"], -32601);
        let reply = client.call("add", json!(["one", 1]), 4).await;
        assert_eq!(reply["error"]["code"], -32602);
        let response = post(
            addr,
            r#"{"jsonrpc":"2.0","method":"add","params":[2,2],"id":5}"#,
        )
        .await;
        assert_eq!(response.json()["result"], 4);
        // A page the allow-list does not name.
        let refused = http::request(
            addr,
            "POST",
            "/",
            &[
                ("content-type", "application/json"),
                ("origin", "https://evil.example"),
            ],
            r#"{"jsonrpc":"2.0","method":"add","params":[1,1],"id":6}"#,
        )
        .await;
        assert_eq!(refused.status, 403);
        drop(client);

        let text = metrics_with(addr, r#"rpc_connections_open{transport="websocket"} 0"#).await;
        assert_metrics(
            &text,
            &[
                r#"rpc_calls_total{method="add",outcome="ok"} 3"#,
                r#"rpc_calls_total{method="add",outcome="-32602"} 1"#,
                r#"rpc_calls_total{method="unknown",outcome="-32601"} 1"#,
                r#"rpc_call_duration_seconds_count{method="add"} 4"#,
                r#"rpc_call_duration_seconds_count{method="unknown"} 1"#,
                r#"rpc_calls_in_flight 0"#,
                r#"rpc_connections_total{transport="websocket"} 1"#,
                r#"rpc_handshakes_refused_total{reason="origin"} 1"#,
                "# EOF",
            ],
        );
        // At least the bodies went both ways (headers and frames add more).
        let count = |name: &str| -> u64 {
            text.lines()
                .find_map(|line| line.strip_prefix(name)?.trim().parse().ok())
                .unwrap_or(0)
        };
        assert!(count("rpc_bytes_received_total") > 300, "{text}");
        assert!(count("rpc_bytes_sent_total") > 200, "{text}");
        server.shutdown_and_wait().await;
    })
    .await;
}

#[tokio::test]
async fn pushes_a_full_queue_refuses_are_counted() {
    within(LIMIT, async {
        let server = start(
            Server::builder()
                .metrics(true)
                .max_queued_bytes(1_000)
                .slow_member_policy(SlowMemberPolicy::DropMessage),
        );
        let addr = server.local_addr();
        let mut client = Client::connect(addr).await;
        // The first fits the empty queue; each of the other 99 finds it full.
        client
            .send(r#"{"jsonrpc":"2.0","method":"flood","params":[100],"id":1}"#)
            .await;
        let reply = loop {
            let message = client.receive_json().await;
            if message.get("id").is_some() {
                break message;
            }
        };
        assert_eq!(reply["result"], serde_json::Value::Null, "{reply}");
        let text = metrics(addr).await;
        assert_metrics(&text, &["rpc_slow_member_messages_dropped_total 99"]);
        server.shutdown_and_wait().await;
    })
    .await;
}

#[tokio::test]
async fn a_call_dropped_with_its_connection_leaves_nothing_in_flight() {
    within(LIMIT, async {
        let server = start(Server::builder().metrics(true));
        let addr = server.local_addr();
        let mut client = Client::connect(addr).await;
        client
            .send(r#"{"jsonrpc":"2.0","method":"hang","id":1}"#)
            .await;
        metrics_with(addr, "rpc_calls_in_flight 1").await;
        let _raw = client.break_protocol().await;
        metrics_with(addr, r#"rpc_connections_open{transport="websocket"} 0"#).await;
        // The in-flight gauge and the outcome move together.
        let text = metrics_with(addr, "rpc_calls_in_flight 0").await;
        assert_metrics(
            &text,
            &[
                r#"rpc_calls_total{method="hang",outcome="cancelled"} 1"#,
                r#"rpc_call_duration_seconds_count{method="hang"} 0"#,
            ],
        );
        server.shutdown_and_wait().await;
    })
    .await;
}

#[tokio::test]
async fn clients_cannot_grow_the_label_set() {
    within(LIMIT, async {
        let server = start(Server::builder().metrics(true));
        let addr = server.local_addr();
        let mut client = Client::connect(addr).await;
        // 10,000 distinct names the service does not have, 100 a batch.
        for batch in 0..100 {
            let calls: Vec<_> = (0..100)
                .map(|n| json!({"jsonrpc": "2.0", "method": format!("m{batch}_{n}"), "id": n}))
                .collect();
            client.send(&json!(calls).to_string()).await;
            let replies = client.receive_json().await;
            assert_eq!(replies.as_array().map(Vec::len), Some(100));
        }
        let text = metrics(addr).await;
        assert_metrics(
            &text,
            &[r#"rpc_calls_total{method="unknown",outcome="-32601"} 10000"#],
        );
        let series = text
            .lines()
            .filter(|line| line.starts_with("rpc_calls_total{"))
            .count();
        // `ok` of `add`, `flood`, `hang` and `unknown`, made up front, and
        // the one error seen.
        assert_eq!(series, 5, "{text}");
        assert!(!text.contains("m99_99"), "{text}");
        server.shutdown_and_wait().await;
    })
    .await;
}

#[tokio::test]
async fn metrics_can_have_an_address_of_their_own() {
    within(LIMIT, async {
        let serve = Server::builder()
            .metrics_addr(Some("127.0.0.1:0".parse().unwrap()))
            .serve("127.0.0.1:0", Api)
            .unwrap();
        let private = serve.metrics_addr().expect("bound with the server");
        let server = serve.spawn();
        let reply = post(
            server.local_addr(),
            r#"{"jsonrpc":"2.0","method":"add","params":[1,2],"id":1}"#,
        )
        .await;
        assert_eq!(reply.json()["result"], 3);
        assert_metrics(
            &metrics(private).await,
            &[r#"rpc_calls_total{method="add",outcome="ok"} 1"#],
        );
        // Not on the public port, and nothing else on the private one.
        let public = http::request(server.local_addr(), "GET", "/metrics", &[], "").await;
        assert_eq!(public.status, 404);
        let other = http::request(private, "GET", "/", &[], "").await;
        assert_eq!(other.status, 404);
        server.shutdown_and_wait().await;
        // It stops with the server.
        while tokio::net::TcpStream::connect(private).await.is_ok() {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    })
    .await;
}

/// One scrape, on a connection the server closes after it.
const SCRAPE: &[u8] = b"GET /metrics HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n";

/// Reads until the server closes the connection; what it sent.
async fn read_to_close(stream: &mut tokio::net::TcpStream) -> Vec<u8> {
    let mut received = Vec::new();
    let _ = stream.read_to_end(&mut received).await;
    received
}

#[tokio::test]
async fn the_metrics_address_bounds_its_connections_and_their_headers() {
    within(LIMIT, async {
        let serve = Server::builder()
            .metrics_addr(Some("127.0.0.1:0".parse().unwrap()))
            .handshake_timeout(Duration::from_millis(300))
            .keep_alive_timeout(Duration::from_millis(300))
            .max_header_bytes(4 * 1024)
            .serve("127.0.0.1:0", Api)
            .unwrap();
        let private = serve.metrics_addr().unwrap();
        let server = serve.spawn();

        // Headers that never end: closed at the header timeout.
        let mut slow = TcpStream::connect(private).await.unwrap();
        slow.write_all(b"GET /metrics HTTP/1.1\r\nhost: x\r\n")
            .await
            .unwrap();
        let started = Instant::now();
        read_to_close(&mut slow).await;
        assert!(started.elapsed() < Duration::from_secs(5));
        // Headers past max_header_bytes: 431.
        let mut large = TcpStream::connect(private).await.unwrap();
        let padding = "x".repeat(8 * 1024);
        large
            .write_all(
                format!("GET /metrics HTTP/1.1\r\nhost: x\r\nx-pad: {padding}\r\n\r\n").as_bytes(),
            )
            .await
            .unwrap();
        let reply = String::from_utf8_lossy(&read_to_close(&mut large).await).into_owned();
        assert!(reply.starts_with("HTTP/1.1 431"), "{reply}");

        // (The two slots above are freed just after their sockets close.)
        tokio::time::sleep(Duration::from_millis(50)).await;
        // 32 connections held open at once (each within its timeout)...
        let mut held = Vec::new();
        for _ in 0..32 {
            held.push(TcpStream::connect(private).await.unwrap());
        }
        // ...and the next is closed at once, unanswered.
        let mut extra = TcpStream::connect(private).await.unwrap();
        // (It may be closed before the request is even written.)
        let _ = extra.write_all(SCRAPE).await;
        assert!(read_to_close(&mut extra).await.is_empty());
        // Once they are closed, scraping works again.
        drop(held);
        loop {
            let mut scrape = TcpStream::connect(private).await.unwrap();
            let _ = scrape.write_all(SCRAPE).await;
            if read_to_close(&mut scrape)
                .await
                .starts_with(b"HTTP/1.1 200")
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        server.shutdown_and_wait().await;
    })
    .await;
}

#[tokio::test]
async fn a_metrics_address_in_use_fails_serve() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let result = Server::builder()
        .metrics_addr(Some(taken.local_addr().unwrap()))
        .serve("127.0.0.1:0", Api);
    assert_eq!(
        result.err().map(|err| err.kind()),
        Some(std::io::ErrorKind::AddrInUse)
    );
}

#[tokio::test]
async fn nothing_is_served_when_metrics_are_off() {
    within(LIMIT, async {
        let server = start(Server::builder());
        let response = http::request(server.local_addr(), "GET", "/metrics", &[], "").await;
        assert_eq!(response.status, 404);
        server.shutdown_and_wait().await;
    })
    .await;
}
