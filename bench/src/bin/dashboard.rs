//! The picture of the Grafana dashboard (`ops/grafana/rpc-dashboard.json`)
//! filled by a real load run: see `rpc_bench::dashboard`. Needs Debian's
//! `prometheus`; `bench/dashboard.sh` installs it and runs this.
//!
//! Run with: cargo run --release -p rpc-bench --bin dashboard -- --redis redis://127.0.0.1:6379

use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use rpc_bench::dashboard::{self, Options, prometheus};

#[derive(Debug, Parser)]
#[command(about = "Draw the Grafana dashboard over a real load run")]
struct Args {
    /// The dashboard's JSON.
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/../ops/grafana/rpc-dashboard.json"))]
    dashboard: PathBuf,
    /// The SVG to write.
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/charts/dashboard.svg"))]
    out: PathBuf,
    /// Seconds of load.
    #[arg(long, default_value_t = 150)]
    seconds: u64,
    /// Clients connected at the surge.
    #[arg(long, default_value_t = 120)]
    peak_clients: usize,
    /// Two instances sharing their groups on this Redis (one without).
    #[arg(long)]
    redis: Option<String>,
    /// The Prometheus binary (default: on the path).
    #[arg(long)]
    prometheus: Option<PathBuf>,
}

#[tokio::main]
async fn main() -> Result<(), String> {
    let args = Args::parse();
    let prometheus = args
        .prometheus
        .or_else(prometheus::find_binary)
        .ok_or("no prometheus binary: apt-get install prometheus, or give --prometheus")?;
    let options = Options {
        dashboard: args.dashboard,
        out: args.out,
        duration: Duration::from_secs(args.seconds),
        peak_clients: args.peak_clients,
        redis: args.redis,
        prometheus,
    };
    let summary = dashboard::run(&options).await?;
    println!(
        "{}",
        serde_json::json!({
            "out": options.out,
            "instances": summary.instances,
            "panels": summary.panels,
            "calls": summary.load.calls,
            "clients": summary.load.clients,
        })
    );
    Ok(())
}
