//! Slow clients and connection floods: a well-behaved client is served
//! promptly regardless, and the misbehaving ones are cut off or refused.

use std::time::{Duration, Instant};

use rpc_server::config::Rate;
use rpc_server::{RpcContext, Server, ServerHandle, rpc_service};
use serde_json::json;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use ws::{Client, close_code, within};

use crate::common::ws;

struct Svc;

#[rpc_service]
impl Svc {
    fn add(&self, a: i64, b: i64) -> i64 {
        a + b
    }

    fn client_ip(&self, ctx: &RpcContext) -> String {
        ctx.client_ip().map(|ip| ip.to_string()).unwrap_or_default()
    }
}

fn start(builder: rpc_server::ServerBuilder) -> ServerHandle {
    builder.serve("127.0.0.1:0", Svc).unwrap().spawn()
}

/// Sends `bytes` one at a time, `every` apart, until done or cut off;
/// returns whether the server hung up.
async fn trickle(mut stream: TcpStream, bytes: Vec<u8>, every: Duration) -> bool {
    for byte in bytes {
        if stream.write_all(&[byte]).await.is_err() {
            return true;
        }
        tokio::time::sleep(every).await;
    }
    let mut buf = [0u8; 512];
    loop {
        match tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buf)).await {
            Ok(Ok(0) | Err(_)) => return true,
            Ok(Ok(_)) => continue,
            Err(_) => return false,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_trickling_handshakes_do_not_delay_a_good_client_and_are_cut_off() {
    within(Duration::from_secs(60), async {
        let server = start(Server::builder().handshake_timeout(Duration::from_secs(1)));
        let addr = server.local_addr();
        let handshake =
            b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n".to_vec();
        let mut slow = Vec::new();
        for _ in 0..1_000 {
            let stream = TcpStream::connect(addr).await.unwrap();
            slow.push(tokio::spawn(trickle(
                stream,
                handshake.clone(),
                Duration::from_millis(100),
            )));
        }
        // A well-behaved client is served promptly all the same.
        let started = Instant::now();
        let mut client = Client::connect(addr).await;
        assert_eq!(client.call("add", json!([1, 2]), 1).await["result"], 3);
        let took = started.elapsed();
        assert!(took < Duration::from_secs(3), "served after {took:?}");
        // Every trickler is cut off by the handshake timeout.
        for trickler in slow {
            assert!(trickler.await.unwrap(), "a trickling handshake was cut off");
        }
        server.shutdown_and_wait().await;
    })
    .await;
}

#[tokio::test]
async fn a_frame_trickled_byte_by_byte_is_cut_off_by_the_idle_timeout() {
    within(Duration::from_secs(30), async {
        let server = start(Server::builder().idle_timeout(Some(Duration::from_millis(500))));
        let client = Client::connect(server.local_addr()).await;
        // Reach under the WebSocket: a frame header promising 100 bytes,
        // then one byte every 100 ms.
        let stream = client.into_raw();
        let mut frame = vec![0x81, 0x80 | 100, 1, 2, 3, 4];
        frame.extend(std::iter::repeat_n(b'x', 100));
        assert!(
            trickle(stream, frame, Duration::from_millis(100)).await,
            "cut off"
        );
        server.shutdown_and_wait().await;
    })
    .await;
}

/// The head of a JSON `POST` whose body of `length` bytes is still to come.
fn post_head(length: usize) -> Vec<u8> {
    format!(
        "POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {length}\r\n\r\n"
    )
    .into_bytes()
}

#[tokio::test]
async fn an_http_body_trickled_is_cut_off_with_408_by_default() {
    within(Duration::from_secs(60), async {
        let server = start(Server::builder());
        let addr = server.local_addr();
        let stream = TcpStream::connect(addr).await.unwrap();
        let (mut reader, mut writer) = stream.into_split();
        writer.write_all(&post_head(1_000)).await.unwrap();
        // A byte every 500 ms, for longer than the default message timeout.
        let trickling = tokio::spawn(async move {
            for _ in 0..1_000 {
                if writer.write_all(b" ").await.is_err() {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        });
        // A well-behaved client is served meanwhile.
        let mut client = Client::connect(addr).await;
        assert_eq!(client.call("add", json!([1, 2]), 1).await["result"], 3);

        let mut answer = Vec::new();
        let read = tokio::time::timeout(Duration::from_secs(45), reader.read_to_end(&mut answer));
        read.await.expect("cut off in time").unwrap();
        let answer = String::from_utf8_lossy(&answer);
        assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
        assert!(
            answer.to_ascii_lowercase().contains("connection: close"),
            "{answer}"
        );
        trickling.abort();
        server.shutdown_and_wait().await;
    })
    .await;
}

#[tokio::test]
async fn a_websocket_message_trickled_is_cut_off_with_1008_by_default() {
    within(Duration::from_secs(60), async {
        let server = start(Server::builder());
        let addr = server.local_addr();
        let client = Client::connect(addr).await;
        let stream = client.into_raw();
        let (mut reader, mut writer) = stream.into_split();
        // A text frame promising 1,000 bytes, then a byte every 500 ms.
        let trickling = tokio::spawn(async move {
            writer
                .write_all(&[0x81, 0x80 | 126, 0x03, 0xe8, 0, 0, 0, 0])
                .await
                .unwrap();
            for _ in 0..1_000 {
                if writer.write_all(b" ").await.is_err() {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        });
        // A well-behaved client is served meanwhile.
        let mut other = Client::connect(addr).await;
        assert_eq!(other.call("add", json!([1, 2]), 1).await["result"], 3);

        let mut received = Vec::new();
        let read = tokio::time::timeout(Duration::from_secs(45), reader.read_to_end(&mut received));
        read.await.expect("cut off in time").unwrap();
        // The server's close frame: opcode 8, then the code 1008.
        assert_eq!(close_code(&received), 1008);
        trickling.abort();
        server.shutdown_and_wait().await;
    })
    .await;
}

/// The CPU time the calling thread has used (utime + stime, in the 10 ms
/// ticks of /proc).
fn thread_cpu() -> Duration {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").expect("/proc");
    // The fields after the command name, which is in parentheses.
    let fields: Vec<&str> = stat[stat.rfind(')').unwrap() + 2..].split(' ').collect();
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    Duration::from_millis(ticks * 10)
}

#[tokio::test]
async fn a_request_still_arriving_after_the_keep_alive_timeout_costs_no_cpu() {
    within(Duration::from_secs(30), async {
        // The server alone on a thread of its own, so that its CPU time can
        // be read apart from the test's.
        let (sender, receiver) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async {
                let server = start(
                    Server::builder()
                        .handshake_timeout(Duration::from_millis(500))
                        .keep_alive_timeout(Duration::from_millis(500))
                        .message_timeout(None),
                );
                sender
                    .send((server.clone(), tokio::runtime::Handle::current()))
                    .unwrap();
                server.stopped().await;
            });
        });
        let (server, server_thread) = receiver.recv().unwrap();
        let server_cpu = || server_thread.spawn(async { thread_cpu() });

        let mut stream = TcpStream::connect(server.local_addr()).await.unwrap();
        stream.write_all(&post_head(100)).await.unwrap();
        // Past both timeouts, with the body still coming.
        tokio::time::sleep(Duration::from_secs(1)).await;
        let before = server_cpu().await.unwrap();
        for _ in 0..30 {
            stream.write_all(b" ").await.unwrap();
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let used = server_cpu().await.unwrap() - before;
        // A loop that spins would use the whole 3 s.
        assert!(
            used < Duration::from_millis(500),
            "the server used {used:?} of CPU in 3 s"
        );
        drop(stream);
        server.shutdown_and_wait().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_past_max_connections_is_refused_and_the_served_carry_on() {
    within(Duration::from_secs(60), async {
        let server = start(Server::builder().max_connections(50));
        let addr = server.local_addr();
        let mut served = Vec::new();
        for _ in 0..50 {
            served.push(Client::connect(addr).await);
        }
        let mut refused = 0;
        let mut flood = Vec::new();
        for _ in 0..200 {
            flood.push(tokio::spawn(tokio_tungstenite::connect_async(format!(
                "ws://{addr}"
            ))));
        }
        for attempt in flood {
            match attempt.await.unwrap() {
                Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
                    assert_eq!(response.status(), 503);
                    refused += 1;
                }
                other => panic!("expected a 503, got {other:?}"),
            }
        }
        assert_eq!(refused, 200);
        for (n, client) in served.iter_mut().enumerate() {
            assert_eq!(client.call("add", json!([n, 1]), 1).await["result"], n + 1);
        }
        server.shutdown_and_wait().await;
    })
    .await;
}

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<TcpStream>>;

/// A WebSocket handshake from the local address `from`, with extra
/// headers: the socket, or the refusal's status and `Retry-After`.
async fn handshake_from(
    from: &str,
    server: std::net::SocketAddr,
    headers: &[(&str, &str)],
) -> Result<Socket, (u16, Option<String>)> {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind(format!("{from}:0").parse().unwrap()).unwrap();
    let stream = socket.connect(server).await.unwrap();
    let mut request = format!("ws://{server}/").into_client_request().unwrap();
    for (name, value) in headers {
        let name = tokio_tungstenite::tungstenite::http::HeaderName::from_bytes(name.as_bytes());
        request
            .headers_mut()
            .insert(name.unwrap(), value.parse().unwrap());
    }
    let stream = tokio_tungstenite::MaybeTlsStream::Plain(stream);
    match tokio_tungstenite::client_async(request, stream).await {
        Ok((socket, _)) => Ok(socket),
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            let retry = response
                .headers()
                .get("retry-after")
                .map(|value| value.to_str().unwrap().to_owned());
            Err((response.status().as_u16(), retry))
        }
        Err(err) => panic!("handshake failed: {err}"),
    }
}

async fn add_over(socket: Socket) -> serde_json::Value {
    let mut client = Client { ws: socket };
    client.call("add", json!([20, 22]), 1).await["result"].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_address_past_its_connection_cap_gets_429_while_another_is_served() {
    within(Duration::from_secs(60), async {
        let server = start(Server::builder().max_connections_per_ip(Some(50)));
        let addr = server.local_addr();
        let mut held = Vec::new();
        for _ in 0..50 {
            held.push(
                handshake_from("127.0.0.1", addr, &[])
                    .await
                    .expect("under the cap"),
            );
        }
        for _ in 0..150 {
            let refused = handshake_from("127.0.0.1", addr, &[]).await.err();
            assert_eq!(refused, Some((429, None)));
        }
        // The refusal closes the connection: nothing is left held.
        let mut raw = TcpStream::connect(addr).await.unwrap();
        raw.write_all(b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n").await.unwrap();
        let mut answer = Vec::new();
        let read = tokio::time::timeout(Duration::from_secs(5), raw.read_to_end(&mut answer));
        read.await.expect("closed by the server").unwrap();
        assert!(answer.starts_with(b"HTTP/1.1 429"), "{}", String::from_utf8_lossy(&answer));
        // Another address (all of 127.0.0.0/8 is loopback) is served.
        let other = handshake_from("127.0.0.2", addr, &[])
            .await
            .expect("another address");
        assert_eq!(add_over(other).await, 42);
        // A connection that ends gives its slot back.
        for socket in held.drain(..10) {
            let mut client = Client { ws: socket };
            client.ws.close(None).await.unwrap();
            let _ = client.closed().await;
        }
        let mut again = None;
        for _ in 0..100 {
            if let Ok(socket) = handshake_from("127.0.0.1", addr, &[]).await {
                again = Some(socket);
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(add_over(again.expect("a slot came back")).await, 42);
        server.shutdown_and_wait().await;
    })
    .await;
}

#[tokio::test]
async fn handshakes_past_the_address_rate_get_429_with_retry_after() {
    within(Duration::from_secs(30), async {
        let server = start(
            Server::builder().handshake_rate_per_ip(Some(Rate::new(5, Duration::from_secs(60)))),
        );
        let addr = server.local_addr();
        for _ in 0..5 {
            handshake_from("127.0.0.1", addr, &[])
                .await
                .expect("within the rate");
        }
        let (status, retry) = handshake_from("127.0.0.1", addr, &[])
            .await
            .expect_err("refused");
        assert_eq!(status, 429);
        let retry: u64 = retry.expect("Retry-After").parse().unwrap();
        assert!((1..=12).contains(&retry), "{retry}");
        let other = handshake_from("127.0.0.2", addr, &[])
            .await
            .expect("another address");
        assert_eq!(add_over(other).await, 42);
        server.shutdown_and_wait().await;
    })
    .await;
}

#[tokio::test]
async fn behind_a_trusted_proxy_the_forwarded_address_is_the_client() {
    within(Duration::from_secs(30), async {
        let (seen_tx, mut seen) = tokio::sync::mpsc::unbounded_channel();
        let builder = Server::builder()
            .trusted_proxies(["127.0.0.1"])
            .max_connections_per_ip(Some(2))
            .on_connect(move |request| {
                let _ = seen_tx.send(request.client_ip());
                async { Ok(rpc_server::connect::Admission::new()) }
            });
        let server = start(builder);
        let addr = server.local_addr();
        let alice = [("x-forwarded-for", "203.0.113.1")];
        let mut first = Client {
            ws: handshake_from("127.0.0.1", addr, &alice)
                .await
                .expect("first"),
        };
        let _second = handshake_from("127.0.0.1", addr, &alice)
            .await
            .expect("second");
        assert_eq!(
            handshake_from("127.0.0.1", addr, &alice).await.err(),
            Some((429, None))
        );
        assert_eq!(
            first.call("client_ip", json!([]), 1).await["result"],
            "203.0.113.1"
        );
        let seen_by_on_connect = seen.recv().await.unwrap().to_string();
        assert_eq!(seen_by_on_connect, "203.0.113.1");
        // Other clients behind the same proxy have slots of their own.
        let bob = [("forwarded", "for=203.0.113.2")];
        let bob = handshake_from("127.0.0.1", addr, &bob)
            .await
            .expect("another client");
        assert_eq!(add_over(bob).await, 42);
        server.shutdown_and_wait().await;

        // From a peer that is not trusted, the header means nothing.
        let server = start(Server::builder().trusted_proxies(["10.0.0.1"]));
        let socket = handshake_from("127.0.0.2", server.local_addr(), &alice)
            .await
            .unwrap();
        let mut client = Client { ws: socket };
        assert_eq!(
            client.call("client_ip", json!([]), 1).await["result"],
            "127.0.0.2"
        );
        server.shutdown_and_wait().await;
    })
    .await;
}
