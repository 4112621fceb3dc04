//! Memory stays bounded when a client sends as fast as it can and never
//! reads, and large messages leave nothing behind. Alone in their file,
//! and one at a time, so the process's memory is each test's alone.

#[path = "common/process.rs"]
mod process;
#[path = "common/ws.rs"]
mod ws;

use std::alloc::System;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use rpc_server::connect::DisconnectReason;
use rpc_server::{Server, rpc_service};
use serde_json::json;
use stats_alloc::{INSTRUMENTED_SYSTEM, StatsAlloc};
use ws::{Client, within};

#[derive(Clone, Default)]
struct Svc {
    started: Arc<AtomicUsize>,
}

#[rpc_service]
impl Svc {
    fn blob(&self, len: usize) -> String {
        self.started.fetch_add(1, Ordering::SeqCst);
        "x".repeat(len)
    }

    fn add(&self, a: i64, b: i64) -> i64 {
        a + b
    }

    fn echo(&self, s: String) -> String {
        s
    }
}

/// The heap bytes the process holds, counted as they are allocated and
/// freed: exact, where the resident size also shows what the allocator
/// keeps for later.
#[global_allocator]
static ALLOCATOR: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// Heap bytes allocated and not yet freed.
fn live_heap() -> isize {
    // (Reallocations count in both.)
    let stats = ALLOCATOR.stats();
    stats.bytes_allocated as isize - stats.bytes_deallocated as isize
}

/// One test at a time: each measures the whole process.
static ALONE: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

#[tokio::test]
async fn a_client_that_sends_without_reading_leaves_memory_bounded() {
    let _alone = ALONE.lock().await;
    within(Duration::from_secs(60), async {
        let svc = Svc::default();
        let started = Arc::clone(&svc.started);
        let server = Server::builder()
            .max_pending_requests(8)
            .outgoing_queue(4)
            // Its replies can never be delivered: don't wait long for them.
            .drain_timeout(Duration::from_millis(500))
            .serve("127.0.0.1:0", svc)
            .unwrap()
            .spawn();
        let client = Client::connect(server.local_addr()).await;
        let (mut sink, _never_read) = futures_util::StreamExt::split(client.ws);
        let before = process::rss_kib();
        // 4,000 requests for 64 KiB each: 256 MiB of replies if nothing
        // held the server back.
        let flood = tokio::spawn(async move {
            use futures_util::SinkExt as _;
            let request = r#"{"jsonrpc":"2.0","method":"blob","params":[65536],"id":1}"#;
            for _ in 0..4_000 {
                if sink.send(request.into()).await.is_err() {
                    break;
                }
            }
        });
        tokio::time::sleep(Duration::from_secs(2)).await;
        let stalled_at = started.load(Ordering::SeqCst);
        tokio::time::sleep(Duration::from_secs(1)).await;
        let later = started.load(Ordering::SeqCst);
        let grown_mib = process::rss_kib().saturating_sub(before) / 1024;
        println!("ran {later} of 4,000 requests; memory grew by {grown_mib} MiB");
        assert_eq!(
            stalled_at, later,
            "the server stopped reading from the client"
        );
        assert!(later < 1_000, "{later} of 4,000 requests were run");
        assert!(grown_mib < 100, "memory grew by {grown_mib} MiB");
        // Another connection is still served.
        let mut other = Client::connect(server.local_addr()).await;
        assert_eq!(other.call("add", json!([40, 2]), 1).await["result"], 42);
        flood.abort();
        server.shutdown_and_wait().await;
    })
    .await;
}

/// Few but large replies: batches of nine 1 MiB replies, never read. The
/// count of held replies would allow 64 such batches (576 MiB); their bytes
/// stop the reading after the first.
#[tokio::test]
async fn large_replies_never_read_are_bounded_by_bytes() {
    let _alone = ALONE.lock().await;
    within(Duration::from_secs(60), async {
        let svc = Svc::default();
        let started = Arc::clone(&svc.started);
        let server = Server::builder()
            .drain_timeout(Duration::from_millis(500))
            .serve("127.0.0.1:0", svc)
            .unwrap()
            .spawn();
        let client = Client::connect(server.local_addr()).await;
        let (mut sink, _never_read) = futures_util::StreamExt::split(client.ws);
        let before = process::rss_kib();
        let batch: Vec<_> = (0..9)
            .map(|id| json!({"jsonrpc": "2.0", "method": "blob", "params": [1 << 20], "id": id}))
            .collect();
        let batch = serde_json::Value::Array(batch).to_string();
        let flood = tokio::spawn(async move {
            use futures_util::SinkExt as _;
            for _ in 0..100 {
                if sink.send(batch.as_str().into()).await.is_err() {
                    break;
                }
            }
        });
        tokio::time::sleep(Duration::from_secs(3)).await;
        let ran = started.load(Ordering::SeqCst);
        let grown_mib = process::rss_kib().saturating_sub(before) / 1024;
        println!("ran {ran} of 900 calls of 1 MiB; memory grew by {grown_mib} MiB");
        assert!(ran <= 5 * 9, "{ran} calls ran before reading stopped");
        assert!(grown_mib < 100, "memory grew by {grown_mib} MiB");
        let mut other = Client::connect(server.local_addr()).await;
        assert_eq!(other.call("add", json!([40, 2]), 1).await["result"], 42);
        flood.abort();
        server.shutdown_and_wait().await;
    })
    .await;
}

/// Many clients that never read, each within its own budget: what they
/// hold together is bounded by the server's (`max_outgoing_bytes`), past
/// which the connections holding the most are closed as too slow.
#[tokio::test]
async fn many_clients_that_never_read_are_bounded_by_the_servers_outgoing_budget() {
    if !process::in_own_process(
        "many_clients_that_never_read_are_bounded_by_the_servers_outgoing_budget",
    ) {
        return;
    }
    within(Duration::from_secs(60), async {
        const CLIENTS: usize = 20;
        let too_slow = Arc::new(AtomicUsize::new(0));
        let counted = Arc::clone(&too_slow);
        let server = Server::builder()
            .max_outgoing_bytes(32 << 20)
            .drain_timeout(Duration::from_millis(500))
            .on_disconnect(move |_, reason| {
                if reason == DisconnectReason::TooSlow {
                    counted.fetch_add(1, Ordering::SeqCst);
                }
            })
            .serve("127.0.0.1:0", Svc::default())
            .unwrap()
            .spawn();
        let before = process::rss_kib();
        // Each client asks for three batches of nine 1 MiB replies: each
        // holds 9 to 18 MiB (its own budget stops reading it there), 180
        // MiB or more in all without the server's budget.
        let batch: Vec<_> = (0..9)
            .map(|id| json!({"jsonrpc": "2.0", "method": "blob", "params": [1 << 20], "id": id}))
            .collect();
        let batch = serde_json::Value::Array(batch).to_string();
        let mut never_read = Vec::new();
        let mut floods = Vec::new();
        for _ in 0..CLIENTS {
            let client = Client::connect(server.local_addr()).await;
            let (mut sink, stream) = futures_util::StreamExt::split(client.ws);
            never_read.push(stream);
            let batch = batch.clone();
            floods.push(tokio::spawn(async move {
                use futures_util::SinkExt as _;
                for _ in 0..3 {
                    if sink.send(batch.as_str().into()).await.is_err() {
                        break;
                    }
                }
                sink
            }));
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
        let grown_mib = process::rss_kib().saturating_sub(before) / 1024;
        let closed = too_slow.load(Ordering::SeqCst);
        println!("{closed} of {CLIENTS} closed as too slow; memory grew by {grown_mib} MiB");
        // 32 MiB hold three or four of them.
        assert!(closed >= CLIENTS - 5, "{closed} closed as too slow");
        // 361 MiB without the server's budget.
        assert!(grown_mib < 64, "memory grew by {grown_mib} MiB");
        let mut other = Client::connect(server.local_addr()).await;
        assert_eq!(other.call("add", json!([40, 2]), 1).await["result"], 42);
        for flood in floods {
            flood.abort();
        }
        server.shutdown_and_wait().await;
    })
    .await;
}

struct Quiet;

#[rpc_service]
impl Quiet {
    /// A subscription that never sends anything.
    #[rpc(subscription)]
    fn subscribe_nothing(&self) -> impl futures_util::Stream<Item = u8> + Send + 'static {
        futures_util::stream::pending()
    }
}

/// Opens `count` subscriptions on `client` and closes them again, the calls
/// pipelined; returns the resident memory while they were open.
async fn open_and_close(client: &mut Client, count: u64) -> u64 {
    use futures_util::SinkExt as _;
    let subscribe = r#"{"jsonrpc":"2.0","method":"subscribe_nothing","id":1}"#;
    for _ in 0..count {
        client.ws.feed(subscribe.into()).await.unwrap();
    }
    client.ws.flush().await.unwrap();
    let mut ids = Vec::new();
    for _ in 0..count {
        let reply = client.receive_json().await;
        ids.push(reply["result"].as_str().expect("an id").to_owned());
    }
    let open = process::rss_kib();
    for id in &ids {
        let unsubscribe =
            json!({"jsonrpc": "2.0", "method": "unsubscribe_nothing", "params": [id], "id": 2});
        client
            .ws
            .feed(unsubscribe.to_string().into())
            .await
            .unwrap();
    }
    client.ws.flush().await.unwrap();
    for _ in 0..count {
        assert_eq!(client.receive_json().await["result"], true);
    }
    open
}

#[tokio::test]
async fn ten_thousand_subscriptions_opened_and_closed_leave_memory_at_its_baseline() {
    let _alone = ALONE.lock().await;
    within(Duration::from_secs(60), async {
        const COUNT: u64 = 10_000;
        let server = Server::builder()
            .max_subscriptions_per_connection(10_000)
            .serve("127.0.0.1:0", Quiet)
            .unwrap()
            .spawn();
        let mut client = Client::connect(server.local_addr()).await;
        // Once, so that the allocator and the tables have grown.
        let first = process::rss_kib();
        let first_open = open_and_close(&mut client, COUNT).await;
        let baseline = process::rss_kib();
        let open = open_and_close(&mut client, COUNT).await;
        tokio::time::sleep(Duration::from_millis(200)).await;
        let after = process::rss_kib();
        println!(
            "{COUNT} subscriptions: the first time +{} bytes each while open; \
             then RSS {baseline} KiB before, {open} KiB open, {after} KiB after closing",
            first_open.saturating_sub(first) * 1024 / COUNT
        );
        assert!(
            after <= baseline + 2 * 1024,
            "RSS grew by {} KiB over a second round",
            after.saturating_sub(baseline)
        );
        server.shutdown_and_wait().await;
    })
    .await;
}

/// A masked text frame carrying `text`, the mask all zeros (so the payload
/// goes as it is).
fn text_frame(text: &str) -> Vec<u8> {
    let mut bytes = vec![0x81];
    match text.len() {
        len @ 0..=125 => bytes.push(0x80 | len as u8),
        len @ 126..=0xffff => {
            bytes.push(0x80 | 126);
            bytes.extend_from_slice(&(len as u16).to_be_bytes());
        }
        len => {
            bytes.push(0x80 | 127);
            bytes.extend_from_slice(&(len as u64).to_be_bytes());
        }
    }
    bytes.extend_from_slice(&[0; 4]);
    bytes.extend_from_slice(text.as_bytes());
    bytes
}

/// Sends `request` on a raw socket and reads the one frame that answers.
async fn round_trip(stream: &mut tokio::net::TcpStream, request: &str) -> serde_json::Value {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    stream.write_all(&text_frame(request)).await.unwrap();
    let mut head = [0; 2];
    stream.read_exact(&mut head).await.unwrap();
    assert_eq!(head[0], 0x81, "one text frame");
    let len = match head[1] {
        126 => usize::from(stream.read_u16().await.unwrap()),
        127 => usize::try_from(stream.read_u64().await.unwrap()).unwrap(),
        len => usize::from(len),
    };
    let mut payload = vec![0; len];
    stream.read_exact(&mut payload).await.unwrap();
    serde_json::from_slice(&payload).unwrap()
}

/// After one 64 KiB call each (a 64 KiB request, a 64 KiB reply), idle
/// connections hold what they held before it: tungstenite's buffers would
/// keep 64 KiB each way for the connection's life (about 130 KiB a
/// connection, measured before large messages went beside them).
#[tokio::test]
async fn a_large_call_leaves_nothing_behind_on_an_idle_connection() {
    const CONNECTIONS: usize = 100;
    let _alone = ALONE.lock().await;
    within(Duration::from_secs(60), async {
        let server = Server::builder()
            .serve("127.0.0.1:0", Svc::default())
            .unwrap()
            .spawn();
        let mut streams = Vec::new();
        for id in 0..CONNECTIONS {
            let mut stream = Client::connect(server.local_addr()).await.into_raw();
            let add = json!({"jsonrpc": "2.0", "method": "add", "params": [id, 1], "id": id});
            assert_eq!(
                round_trip(&mut stream, &add.to_string()).await["result"],
                id + 1
            );
            streams.push(stream);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        let before = live_heap();

        let large = "x".repeat(64 * 1024);
        for (id, stream) in streams.iter_mut().enumerate() {
            let echo = json!({"jsonrpc": "2.0", "method": "echo", "params": [&large], "id": id});
            let reply = round_trip(stream, &echo.to_string()).await;
            assert_eq!(reply["result"].as_str().map(str::len), Some(large.len()));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        let grown = live_heap() - before;
        let per_connection = grown / CONNECTIONS as isize;
        println!("after one 64 KiB call, an idle connection holds {per_connection} bytes more");
        assert!(
            per_connection < 2048,
            "an idle connection holds {per_connection} bytes more after one 64 KiB call"
        );
        drop(streams);
        server.shutdown_and_wait().await;
    })
    .await;
}
