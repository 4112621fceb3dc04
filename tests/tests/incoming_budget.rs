//! The server-wide budget for unfinished incoming messages: clients that
//! send all but the last byte of large messages hold at most the budget,
//! ordinary calls are served all along, and the budget comes back when
//! those clients leave. Alone in its file so the process's memory is this
//! test's alone.

#[path = "common/process.rs"]
mod process;
#[path = "common/ws.rs"]
mod ws;

use std::sync::Arc;
use std::time::Duration;

use rpc_server::{Server, rpc_service};
use serde_json::json;
use tokio::io::AsyncWriteExt as _;
use tokio::net::TcpStream;
use ws::{Client, within};

struct Svc;

#[rpc_service]
impl Svc {
    fn add(&self, a: i64, b: i64) -> i64 {
        a + b
    }
}

const FRAME: usize = 4 * 1024 * 1024;
const HOLDERS: usize = 40;
const BUDGET: usize = 32 * 1024 * 1024;

/// The header of a masked binary frame of `len` bytes, with a zero mask
/// (so the payload goes as it is).
fn header(len: usize) -> Vec<u8> {
    let mut bytes = vec![0x82, 0x80 | 127];
    bytes.extend_from_slice(&(len as u64).to_be_bytes());
    bytes.extend_from_slice(&[0, 0, 0, 0]);
    bytes
}

/// The raw socket under a WebSocket connection to `addr`.
async fn raw_socket(addr: std::net::SocketAddr) -> TcpStream {
    Client::connect(addr).await.into_raw()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unfinished_large_messages_hold_at_most_the_budget_and_calls_go_on() {
    within(Duration::from_secs(120), async {
        let server = Server::builder()
            .max_incoming_bytes(BUDGET)
            .serve("127.0.0.1:0", Svc)
            .unwrap()
            .spawn();
        let addr = server.local_addr();
        let mut caller = Client::connect(addr).await;
        assert_eq!(caller.call("add", json!([1, 2]), 0).await["result"], 3);
        let before = process::rss_kib();

        // Every holder sends a 4 MiB frame but its last byte: 160 MiB if
        // the server took it all in.
        let payload: Arc<[u8]> = vec![b' '; FRAME - 1].into();
        let mut holders = Vec::new();
        for _ in 0..HOLDERS {
            let mut stream = raw_socket(addr).await;
            let payload = Arc::clone(&payload);
            holders.push(tokio::spawn(async move {
                stream.write_all(&header(FRAME)).await.unwrap();
                // Blocks once the server stops reading this connection.
                let _ = stream.write_all(&payload).await;
                stream
            }));
        }
        // Ordinary calls are answered all along.
        for id in 1..=40 {
            tokio::time::sleep(Duration::from_millis(50)).await;
            assert_eq!(
                caller.call("add", json!([id, 1]), id).await["result"],
                id + 1
            );
        }
        let grown_mib = process::rss_kib().saturating_sub(before) / 1024;
        eprintln!(
            "RSS grew {grown_mib} MiB with {HOLDERS} unfinished 4 MiB messages and a 32 MiB budget"
        );
        assert!(
            grown_mib < 80,
            "the server holds {grown_mib} MiB for a {} MiB budget",
            BUDGET >> 20
        );

        // The holders leave: the budget comes back, and a large message
        // goes through again.
        for holder in holders {
            holder.abort();
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        let call = r#"{"jsonrpc":"2.0","method":"add","params":[40,2],"id":7}"#;
        let padded = format!("{call}{}", " ".repeat(FRAME - call.len()));
        let mut large = Client::connect(addr).await;
        large.send(&padded).await;
        assert_eq!(large.receive_json().await["result"], 42);
        server.shutdown_and_wait().await;
    })
    .await;
}
