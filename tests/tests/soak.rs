//! Steady load for a while, with memory sampled every second: it must stay
//! flat, and every call must be answered. `SOAK_SECS` sets the duration
//! (10 s by default; the by-hand run uses 600). Alone in its file, so the
//! process's memory is this test's.
//!
//! By hand: `SOAK_SECS=600 cargo test --release -p rpc-tests --test soak -- --nocapture`

#[path = "common/process.rs"]
mod process;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rpc_client::{Batch, Client};
use rpc_server::{rpc_service, serve};

struct Svc;

#[rpc_service]
impl Svc {
    async fn add(&self, a: i64, b: i64) -> i64 {
        a + b
    }

    async fn echo(&self, text: String) -> String {
        text
    }

    #[rpc(notification)]
    fn note(&self, _n: u64) {}
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn steady_load_keeps_memory_flat_and_loses_nothing() {
    let seconds: u64 = std::env::var("SOAK_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10);
    let limit = Duration::from_secs(seconds + 60);
    tokio::time::timeout(limit, async move {
        let server = serve("127.0.0.1:0", Svc).unwrap().spawn();
        let url = format!("ws://{}", server.local_addr());
        let sent = Arc::new(AtomicU64::new(0));
        let answered = Arc::new(AtomicU64::new(0));
        let deadline = Instant::now() + Duration::from_secs(seconds);
        let mut workers = Vec::new();
        for worker in 0..20u64 {
            let client = Client::connect(&url).await.unwrap();
            let (sent, answered) = (Arc::clone(&sent), Arc::clone(&answered));
            workers.push(tokio::spawn(async move {
                let text = "x".repeat(256);
                let mut n = 0u64;
                while Instant::now() < deadline {
                    n += 1;
                    sent.fetch_add(1, Ordering::Relaxed);
                    if client.call::<i64>("add", (worker as i64, n as i64)).await.is_ok() {
                        answered.fetch_add(1, Ordering::Relaxed);
                    }
                    sent.fetch_add(1, Ordering::Relaxed);
                    if client.call::<String>("echo", [&text]).await.is_ok() {
                        answered.fetch_add(1, Ordering::Relaxed);
                    }
                    let _ = client.notify("note", [n]).await;
                    if n % 10 == 0 {
                        let batch = Batch::new().call("add", (1, 2)).unwrap().call("add", (3, 4)).unwrap();
                        sent.fetch_add(2, Ordering::Relaxed);
                        if let Ok(results) = client.batch(batch).await {
                            answered.fetch_add(results.iter().filter(|r| r.is_ok()).count() as u64, Ordering::Relaxed);
                        }
                    }
                }
            }));
        }
        let mut samples = Vec::new();
        while Instant::now() < deadline {
            tokio::time::sleep(Duration::from_secs(1)).await;
            samples.push(process::rss_kib());
        }
        for worker in workers {
            worker.await.unwrap();
        }
        let (sent, answered) = (sent.load(Ordering::Relaxed), answered.load(Ordering::Relaxed));
        // After a warm-up fifth, the highest sample must stay near the lowest.
        let settled = &samples[samples.len() / 5..];
        let (low, high) = (settled.iter().min().copied().unwrap_or(0), settled.iter().max().copied().unwrap_or(0));
        println!(
            "soak {seconds} s: {sent} calls sent, {answered} answered, {} lost; RSS {} to {} MiB after warm-up (samples: {samples:?})",
            sent - answered,
            low / 1024,
            high / 1024,
        );
        assert_eq!(sent, answered, "every call is answered");
        assert!(high - low < 16 * 1024, "memory grew from {low} KiB to {high} KiB under steady load");
        server.shutdown_and_wait().await;
    })
    .await
    .expect("the soak test timed out");
}
