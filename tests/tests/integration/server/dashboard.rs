//! The Grafana dashboard (`ops/grafana/rpc-dashboard.json`): a dashboard
//! Grafana can import (panels on its 24-column grid, none overlapping,
//! every query on the dashboard's data source variable), whose queries
//! name only metrics a real server exports. That the queries are valid
//! PromQL, and what they show under load, `bench/dashboard.sh` checks
//! with Prometheus itself (it fails on any query Prometheus refuses).

use std::collections::{BTreeSet, HashSet};

use rpc_redis::{RedisConfig, RedisGroups};
use rpc_server::{Server, rpc_service};
use serde_json::{Value, json};
use ws::{Client, within};

use crate::common::fixtures::LIMIT;
use crate::common::http::{self, metrics};
use crate::common::redis::{redis_url, unique_prefix};
use crate::common::ws;

const DASHBOARD: &str = include_str!("../../../../ops/grafana/rpc-dashboard.json");

struct Api;

#[rpc_service]
impl Api {
    fn add(&self, a: i64, b: i64) -> i64 {
        a + b
    }
}

fn dashboard() -> Value {
    serde_json::from_str(DASHBOARD).expect("the dashboard is JSON")
}

fn exprs(dashboard: &Value) -> Vec<String> {
    dashboard["panels"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|panel| panel["targets"].as_array().unwrap())
        .map(|target| target["expr"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn the_dashboard_is_laid_out_as_grafana_expects() {
    let dashboard = dashboard();
    assert_eq!(dashboard["uid"], "rpc-server");
    assert!(dashboard["schemaVersion"].as_u64().unwrap() >= 36);
    let variables: Vec<&str> = dashboard["templating"]["list"]
        .as_array()
        .unwrap()
        .iter()
        .map(|variable| variable["name"].as_str().unwrap())
        .collect();
    assert_eq!(variables, ["datasource", "instance", "method"]);
    let panels = dashboard["panels"].as_array().unwrap();
    let mut ids = HashSet::new();
    let mut cells = HashSet::new();
    for panel in panels {
        let title = panel["title"].as_str().unwrap();
        assert!(
            ids.insert(panel["id"].as_u64().unwrap()),
            "{title}: id taken"
        );
        assert!(
            matches!(panel["type"].as_str(), Some("stat" | "timeseries")),
            "{title}"
        );
        assert!(
            !panel["description"].as_str().unwrap().is_empty(),
            "{title}"
        );
        assert_eq!(panel["datasource"]["uid"], "${datasource}", "{title}");
        let cell = |name: &str| panel["gridPos"][name].as_u64().unwrap();
        let (x, y, w, h) = (cell("x"), cell("y"), cell("w"), cell("h"));
        assert!(w > 0 && h > 0 && x + w <= 24, "{title}: off the grid");
        for column in x..x + w {
            for row in y..y + h {
                assert!(
                    cells.insert((column, row)),
                    "{title} overlaps another panel"
                );
            }
        }
        let targets = panel["targets"].as_array().unwrap();
        assert!(!targets.is_empty(), "{title}: no query");
        for target in targets {
            assert_eq!(target["datasource"]["uid"], "${datasource}", "{title}");
            assert!(target["refId"].is_string(), "{title}");
            let expr = target["expr"].as_str().unwrap();
            // Every query follows the variables, and rates use Grafana's
            // interval (at least four scrapes whatever the scrape interval).
            assert!(expr.contains(r#"instance=~"$instance""#), "{title}: {expr}");
            if expr.contains("rate(") {
                assert!(expr.contains("[$__rate_interval]"), "{title}: {expr}");
            }
        }
    }
    // What the issue asks the dashboard to show.
    let titles: Vec<&str> = panels
        .iter()
        .map(|p| p["title"].as_str().unwrap())
        .collect();
    for wanted in [
        "Calls per second by method",
        "Error ratio by method",
        "Latency p50 by method",
        "Latency p99 by method",
        "Connections open by instance",
    ] {
        assert!(titles.contains(&wanted), "no {wanted:?} in {titles:?}");
    }
}

/// The `rpc_…` names a query reads.
fn metric_names(expr: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut rest = expr;
    while let Some(at) = rest.find("rpc_") {
        let name: String = rest[at..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        rest = &rest[at + name.len()..];
        names.insert(name);
    }
    names
}

#[tokio::test]
async fn every_query_reads_metrics_the_server_exports() {
    let Some(url) = redis_url().await else { return };
    within(LIMIT, async {
        // With a backend shared through Redis, so that its metrics are there.
        let mut config = RedisConfig::new(&url);
        config.prefix = unique_prefix("dashboard");
        let server = Server::builder()
            .metrics(true)
            .allowed_origins(["https://app.example.com"])
            .groups(RedisGroups::with_config(config).unwrap())
            .serve("127.0.0.1:0", Api)
            .unwrap()
            .spawn();
        let addr = server.local_addr();
        // A family shows once it has a series: a connection, and a refusal.
        let mut client = Client::connect(addr).await;
        assert_eq!(client.call("add", json!([1, 2]), 1).await["result"], 3);
        let refused = http::request(
            addr,
            "POST",
            "/",
            &[("origin", "https://evil.example")],
            "{}",
        )
        .await;
        assert_eq!(refused.status, 403);
        let text = metrics(addr).await;
        // The samples' names each metric family gives (a counter `x` is read
        // as `x_total`, a histogram as `x_bucket`, `x_sum`, `x_count`).
        let mut exported = HashSet::new();
        for line in text.lines() {
            let Some(family) = line.strip_prefix("# TYPE ") else {
                continue;
            };
            let (name, kind) = family.split_once(' ').unwrap();
            let suffixes: &[&str] = match kind {
                "counter" => &["_total"],
                "histogram" => &["_bucket", "_sum", "_count"],
                _ => &[""],
            };
            exported.extend(suffixes.iter().map(|suffix| format!("{name}{suffix}")));
        }
        let mut read = BTreeSet::new();
        for expr in exprs(&dashboard()) {
            for name in metric_names(&expr) {
                assert!(
                    exported.contains(&name),
                    "{name} (in {expr}) is not exported:\n{text}"
                );
                read.insert(name);
            }
        }
        // Every metric the README lists is on the dashboard.
        for name in [
            "rpc_calls_total",
            "rpc_call_duration_seconds_bucket",
            "rpc_calls_in_flight",
            "rpc_connections_open",
            "rpc_connections_total",
            "rpc_handshakes_refused_total",
            "rpc_bytes_received_total",
            "rpc_bytes_sent_total",
            "rpc_slow_member_messages_dropped_total",
            "rpc_group_backend_up",
            "rpc_group_backend_published_total",
            "rpc_group_backend_received_total",
            "rpc_group_backend_dropped_total",
        ] {
            assert!(read.contains(name), "the dashboard does not show {name}");
        }
        server.shutdown_and_wait().await;
    })
    .await;
}
