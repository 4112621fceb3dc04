//! Slow clients and connection floods: a well-behaved client is served
//! promptly regardless, and the misbehaving ones are cut off or refused.

#[path = "common/ws.rs"]
mod ws;

use std::time::{Duration, Instant};

use rpc_server::{Server, ServerHandle, rpc_service};
use serde_json::json;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use ws::{Client, within};

struct Svc;

#[rpc_service]
impl Svc {
    fn add(&self, a: i64, b: i64) -> i64 {
        a + b
    }
}

fn start(builder: rpc_server::ServerBuilder) -> ServerHandle {
    builder.serve("127.0.0.1:0", Svc).spawn().unwrap()
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
        let stream = match client.ws.into_inner() {
            tokio_tungstenite::MaybeTlsStream::Plain(stream) => stream,
            _ => unreachable!("a plain connection"),
        };
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
