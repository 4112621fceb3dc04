//! The Grafana dashboard's picture from a real load run: one or two
//! instances of a shop service (two share their groups on Redis), a load
//! shaped like a day (see [`load`]), a Prometheus of the run's own scraping
//! them every second, and every panel of `ops/grafana/rpc-dashboard.json`
//! evaluated by that Prometheus and drawn at its place ([`render`]).

pub mod load;
pub mod prometheus;
pub mod render;
pub mod shop;

use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rpc_redis::{RedisConfig, RedisGroups};
use rpc_server::Server;
use rpc_server::groups::SlowMemberPolicy;

use self::prometheus::{Prometheus, SCRAPE_INTERVAL};
use self::render::Frame;

/// What to run and where to draw it.
#[derive(Debug, Clone)]
pub struct Options {
    /// The dashboard's JSON.
    pub dashboard: PathBuf,
    /// The SVG to write.
    pub out: PathBuf,
    /// How long the load runs.
    pub duration: Duration,
    /// Clients at the surge.
    pub peak_clients: usize,
    /// Two instances sharing groups on this Redis; one instance without.
    pub redis: Option<String>,
    /// The Prometheus binary.
    pub prometheus: PathBuf,
}

/// What the run did.
#[derive(Debug, Clone, Copy)]
pub struct Summary {
    /// The load's calls and clients.
    pub load: load::Done,
    /// Instances served.
    pub instances: usize,
    /// Panels drawn.
    pub panels: usize,
}

/// Runs the load, then draws the dashboard over it.
pub async fn run(options: &Options) -> Result<Summary, String> {
    let names: &[&str] = if options.redis.is_some() {
        &["instance-a", "instance-b"]
    } else {
        &["instance-a"]
    };
    let mut servers = Vec::new();
    let mut targets = Vec::new();
    for name in names {
        let mut builder = Server::builder()
            .metrics_addr(Some(([127, 0, 0, 1], 0).into()))
            .allowed_origins([load::ALLOWED_ORIGIN])
            .max_queued_bytes(64 * 1024)
            .slow_member_policy(SlowMemberPolicy::DropMessage);
        if let Some(redis) = &options.redis {
            let mut config = RedisConfig::new(redis);
            config.prefix = format!("rpc-dashboard-{}", std::process::id());
            let groups = RedisGroups::with_config(config).map_err(|e| e.to_string())?;
            if !groups.wait_connected(Duration::from_secs(5)).await {
                return Err(format!("no Redis at {redis}"));
            }
            builder = builder.groups(groups);
        }
        let serve = builder
            .serve("127.0.0.1:0", shop::Shop)
            .map_err(|e| e.to_string())?;
        let metrics = serve.metrics_addr().ok_or("no metrics address")?;
        targets.push(((*name).to_owned(), metrics));
        servers.push(serve.spawn());
    }
    let dir = std::env::temp_dir().join(format!("rpc-dashboard-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let prometheus = Prometheus::start(&options.prometheus, &dir, &targets).await?;
    // A few scrapes before the load: the charts start from quiet.
    let start = now();
    tokio::time::sleep(5 * SCRAPE_INTERVAL).await;
    let plan = load::Plan {
        instances: servers.iter().map(|s| s.local_addr()).collect(),
        duration: options.duration,
        peak_clients: options.peak_clients,
    };
    let done = load::run(&plan).await?;
    // The charts end with the load's ramp down (the last scrape before its
    // clients left), as a dashboard watched during it would.
    let end = now() - SCRAPE_INTERVAL.as_secs_f64();
    let frame = Frame {
        start,
        end,
        step: 2 * SCRAPE_INTERVAL,
        rate_interval: format!("{}s", 10 * SCRAPE_INTERVAL.as_secs()),
    };
    let text = std::fs::read_to_string(&options.dashboard)
        .map_err(|e| format!("{}: {e}", options.dashboard.display()))?;
    let dashboard: serde_json::Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
    let panels = render::evaluate(&dashboard, &prometheus, &frame).await?;
    let title = dashboard["title"].as_str().unwrap_or("dashboard");
    let subtitle = format!(
        "Instance: All · Method: All · {} s of load, {} clients at the peak, {} calls · each panel's query evaluated by Prometheus (scraped every {} s; $__rate_interval = {})",
        options.duration.as_secs(),
        options.peak_clients,
        done.calls,
        SCRAPE_INTERVAL.as_secs(),
        frame.rate_interval,
    );
    render::draw(&panels, &frame, title, &subtitle, &options.out)?;
    for server in &servers {
        server.shutdown_and_wait().await;
    }
    drop(prometheus);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(Summary {
        load: done,
        instances: servers.len(),
        panels: panels.len(),
    })
}

fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs_f64()
}
