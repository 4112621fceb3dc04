//! The load generator: prints one JSON line of what it measured.
//!
//! Run with: cargo run --release -p rpc-bench --bin loadgen -- run --url ws://127.0.0.1:9000 --connections 50 --in-flight 8 --payload add

use std::time::Duration;

use clap::{Parser, Subcommand};
use rpc_bench::payload::{Expect, Payload};
use rpc_bench::{idle, load};

#[derive(Parser)]
#[command(about = "Load a JSON-RPC WebSocket server and measure it")]
struct Args {
    #[command(subcommand)]
    command: Command,
}

/// What the load is, whatever its length.
#[derive(clap::Args)]
struct Shape {
    /// The server, as `ws://HOST:PORT`.
    #[arg(long)]
    url: String,
    #[arg(long, default_value_t = 1)]
    connections: usize,
    #[arg(long, default_value_t = 1)]
    in_flight: usize,
    #[arg(long, value_enum, default_value_t = Payload::Add)]
    payload: Payload,
    /// `echo` for the raw WebSocket echo server.
    #[arg(long, value_enum, default_value_t = Expect::Rpc)]
    expect: Expect,
}

impl Shape {
    fn load(self, length: load::Length) -> load::Load {
        load::Load {
            url: self.url,
            connections: self.connections,
            in_flight: self.in_flight,
            payload: self.payload,
            expect: self.expect,
            length,
        }
    }
}

#[derive(Subcommand)]
enum Command {
    /// C connections × P requests in flight: round trips per second and
    /// latency percentiles.
    Run {
        #[command(flatten)]
        shape: Shape,
        /// Seconds of load before the measurement.
        #[arg(long, default_value_t = 1.0)]
        warmup: f64,
        /// Seconds measured.
        #[arg(long, default_value_t = 5.0)]
        duration: f64,
    },
    /// C connections × P requests in flight, until each connection has
    /// made N round trips: for counting the server's instructions per call
    /// (`bench/callgrind.sh`).
    Count {
        #[command(flatten)]
        shape: Shape,
        /// Round trips on each connection.
        #[arg(long)]
        round_trips: u64,
    },
    /// The server's memory per idle connection.
    Idle {
        #[arg(long)]
        url: String,
        /// The server's process id, whose memory is read from /proc.
        #[arg(long)]
        pid: u32,
        #[arg(long, default_value_t = 5000)]
        connections: usize,
        /// The one call each connection makes before it goes quiet.
        #[arg(long, value_enum, default_value_t = Payload::Add)]
        payload: Payload,
        #[arg(long, value_enum, default_value_t = Expect::Rpc)]
        expect: Expect,
    },
}

fn main() {
    let args = Args::parse();
    // One worker: the load has one core to itself.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let result = runtime.block_on(async {
        match args.command {
            Command::Run {
                shape,
                warmup,
                duration,
            } => {
                let length = load::Length::Timed {
                    warmup: Duration::from_secs_f64(warmup),
                    duration: Duration::from_secs_f64(duration),
                };
                load::run(&shape.load(length))
                    .await
                    .map(|measured| to_json(&measured))
            }
            Command::Count { shape, round_trips } => {
                let length = load::Length::RoundTrips(round_trips);
                load::run(&shape.load(length))
                    .await
                    .map(|measured| to_json(&measured))
            }
            Command::Idle {
                url,
                pid,
                connections,
                payload,
                expect,
            } => idle::measure(&url, pid, connections, payload, expect)
                .await
                .map(|memory| to_json(&memory)),
        }
    });
    match result {
        Ok(line) => println!("{line}"),
        Err(err) => {
            eprintln!("loadgen: {err}");
            std::process::exit(1);
        }
    }
}

fn to_json(value: &impl serde::Serialize) -> String {
    serde_json::to_string(value).expect("measurements serialize")
}
