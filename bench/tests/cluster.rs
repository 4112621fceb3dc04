//! `fanout cluster` for a moment: members over two instances sharing Redis,
//! held by two member processes, every delivery counted. Needs a Redis
//! (`RPC_REDIS_URL`, which `.ci/run` provides); skipped without one.

use std::time::Duration;

#[tokio::test]
async fn members_over_instances_get_every_broadcast() {
    let Ok(redis) = std::env::var("RPC_REDIS_URL") else {
        eprintln!("skipped: RPC_REDIS_URL is not set");
        return;
    };
    let run = tokio::process::Command::new(env!("CARGO_BIN_EXE_fanout"))
        .args(["cluster", "--connections", "301", "--instances", "2"])
        .args(["--burst", "5", "--redis", &redis])
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(Duration::from_secs(60), run)
        .await
        .expect("the run took too long")
        .expect("fanout ran");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "fanout failed: {stderr}");
    let measured: serde_json::Value =
        serde_json::from_slice(&output.stdout).expect("one JSON line");
    assert_eq!(measured["connections"], 301);
    assert_eq!(measured["instances"], 2);
    assert_eq!(measured["member_processes"], 2);
    assert_eq!(measured["burst_deliveries"], 301 * 5);
    let first = measured["broadcast_first_ms"].as_f64().expect("a time");
    let last = measured["broadcast_last_ms"].as_f64().expect("a time");
    assert!(0.0 < first && first <= last, "{measured}");
}
