//! `dashboard` for a moment: two instances sharing Redis, a short load, a
//! real Prometheus evaluating every panel's query (it refuses any that is
//! not valid PromQL), the panels drawn. Needs a Redis (`RPC_REDIS_URL`) and
//! Debian's `prometheus`, which `.ci/run` provides; skipped without them
//! elsewhere.

use std::time::Duration;

use rpc_bench::dashboard::prometheus::find_binary;

const DASHBOARD: &str = include_str!("../../ops/grafana/rpc-dashboard.json");

#[tokio::test]
async fn every_panel_is_drawn_from_a_real_run() {
    let (Ok(redis), Some(prometheus)) = (std::env::var("RPC_REDIS_URL"), find_binary()) else {
        assert!(
            std::env::var_os("CI").is_none(),
            "the dashboard's test needs RPC_REDIS_URL and prometheus (.ci/run provides both)"
        );
        eprintln!("skipped: needs RPC_REDIS_URL and Debian's prometheus");
        return;
    };
    let out = std::env::temp_dir().join(format!("rpc-dashboard-test-{}.svg", std::process::id()));
    let run = tokio::process::Command::new(env!("CARGO_BIN_EXE_dashboard"))
        .args(["--seconds", "8", "--peak-clients", "12", "--redis", &redis])
        .arg("--prometheus")
        .arg(&prometheus)
        .arg("--out")
        .arg(&out)
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(Duration::from_secs(90), run)
        .await
        .expect("the run took too long")
        .expect("dashboard ran");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "dashboard failed: {stderr}");
    let summary: serde_json::Value = serde_json::from_slice(&output.stdout).expect("one JSON line");
    let dashboard: serde_json::Value = serde_json::from_str(DASHBOARD).unwrap();
    let panels = dashboard["panels"].as_array().unwrap();
    assert_eq!(summary["panels"], panels.len());
    assert_eq!(summary["instances"], 2);
    assert!(summary["calls"].as_u64().unwrap() > 100, "{summary}");
    let svg = std::fs::read_to_string(&out).expect("the picture");
    let _ = std::fs::remove_file(&out);
    for panel in panels {
        let title = panel["title"].as_str().unwrap();
        assert!(svg.contains(title), "{title} not drawn");
    }
    // Every query had something to show.
    assert!(!svg.contains("No data"), "a panel has no data");
}
