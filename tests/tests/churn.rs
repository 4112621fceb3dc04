//! 10,000 connect, call, disconnect cycles leave open file descriptors and
//! memory where they were. Alone in its file, so the process's numbers are
//! this test's.

#[path = "common/process.rs"]
mod process;
#[path = "common/ws.rs"]
mod ws;

use std::time::Duration;

use rpc_server::{rpc_service, serve};
use serde_json::json;
use ws::{Client, within};

struct Svc;

#[rpc_service]
impl Svc {
    fn add(&self, a: i64, b: i64) -> i64 {
        a + b
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_cycles_leave_fds_and_memory_at_their_baseline() {
    within(Duration::from_secs(300), async {
        let server = serve("127.0.0.1:0", Svc).unwrap().spawn();
        let addr = server.local_addr();
        let cycle = move |n: i64| async move {
            let mut client = Client::connect(addr).await;
            assert_eq!(client.call("add", json!([n, 1]), 1).await["result"], n + 1);
            let _ = client.ws.close(None).await;
        };
        // Warm up: the runtime's and allocator's one-time growth.
        for n in 0..200 {
            cycle(n).await;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        let (fds, rss) = (process::open_fds(), process::rss_kib());
        let workers: Vec<_> = (0..20i64)
            .map(|w| {
                tokio::spawn(async move {
                    for n in 0..500 {
                        cycle(w * 1_000 + n).await;
                    }
                })
            })
            .collect();
        for worker in workers {
            worker.await.unwrap();
        }
        // Connections finish closing (their close grace) before counting.
        let mut after = process::open_fds();
        for _ in 0..50 {
            if after <= fds {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
            after = process::open_fds();
        }
        let grown_mib = process::rss_kib().saturating_sub(rss) / 1024;
        println!("fds {fds} -> {after}; memory grew by {grown_mib} MiB over 10,000 cycles");
        assert!(after <= fds, "file descriptors leaked: {fds} -> {after}");
        assert!(grown_mib < 32, "memory grew by {grown_mib} MiB");
        server.shutdown_and_wait().await;
    })
    .await;
}
