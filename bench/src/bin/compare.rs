//! Runs every server through every scenario, interleaved and repeated, the
//! server pinned to one core and the load generator to another, and prints
//! the Markdown table of `BENCHMARKS.md` (progress goes to stderr).
//!
//! Run with: bash bench/run.sh   (builds everything, then runs this)

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use clap::Parser;
use rpc_bench::charts::{self, Chart, Group};
use rpc_bench::idle::IdleMemory;
use rpc_bench::load::Measured;
use rpc_bench::payload::Payload;

#[derive(Parser)]
#[command(about = "Compare rpc-server with a raw WebSocket echo and jsonrpsee")]
struct Args {
    /// How many times each measurement is repeated (the table shows medians).
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// Seconds of load before each measurement.
    #[arg(long, default_value_t = 1.0)]
    warmup: f64,
    /// Seconds measured.
    #[arg(long, default_value_t = 5.0)]
    duration: f64,
    /// Connections held open for the memory measurement (0 to skip it).
    #[arg(long, default_value_t = 5000)]
    idle_connections: usize,
    /// Also draw the comparison as SVG charts into this directory.
    #[arg(long)]
    charts: Option<PathBuf>,
    /// Only the scenarios whose name contains this.
    #[arg(long)]
    only: Option<String>,
    /// The core the servers run on.
    #[arg(long, default_value_t = 0)]
    server_core: usize,
    /// The core the load generator runs on.
    #[arg(long, default_value_t = 1)]
    load_core: usize,
}

/// One row of the table.
struct Scenario {
    name: &'static str,
    /// Under its bars in the charts.
    short: &'static str,
    connections: usize,
    in_flight: usize,
    payload: Payload,
    transport: Transport,
}

/// How a scenario's calls travel, and so which server is its limit.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Transport {
    /// `loadgen` over WebSocket; the limit is the raw echo.
    WebSocket,
    /// `wrk` POSTing `add(1, 2)` over keep-alive connections, one request
    /// in flight on each; the limit is a bare hyper server.
    Http,
}

/// A memory measurement: idle WebSocket connections after one call each.
struct MemoryCase {
    /// After what, in the table.
    after: &'static str,
    /// The call.
    payload: Payload,
    /// `--idle-connections` divided by this.
    fewer: usize,
    /// The most ours may hold per connection (issue 18).
    target_kib: f64,
    /// The most ours may hold next to jsonrpsee (issue 16).
    peer_ratio: Option<f64>,
}

const MEMORY: [MemoryCase; 2] = [
    MemoryCase {
        after: "after an `add`",
        payload: Payload::Add,
        fewer: 1,
        target_kib: 7.0,
        peer_ratio: Some(0.5),
    },
    MemoryCase {
        after: "after a 64 KiB `echo`",
        payload: Payload::Echo64k,
        fewer: 5,
        target_kib: 16.0,
        peer_ratio: None,
    },
];

const SCENARIOS: [Scenario; 7] = [
    Scenario {
        name: "1 connection, 1 in flight, `add`",
        short: "1 × 1 add",
        connections: 1,
        in_flight: 1,
        payload: Payload::Add,
        transport: Transport::WebSocket,
    },
    Scenario {
        name: "1 connection, 64 pipelined, `add`",
        short: "1 × 64 add",
        connections: 1,
        in_flight: 64,
        payload: Payload::Add,
        transport: Transport::WebSocket,
    },
    Scenario {
        name: "50 connections × 8 in flight, `add`",
        short: "50 × 8 add",
        connections: 50,
        in_flight: 8,
        payload: Payload::Add,
        transport: Transport::WebSocket,
    },
    Scenario {
        name: "10 connections × 4, `echo` of 1 KiB",
        short: "echo 1 KiB",
        connections: 10,
        in_flight: 4,
        payload: Payload::Echo1k,
        transport: Transport::WebSocket,
    },
    Scenario {
        name: "10 connections × 4, `echo` of 64 KiB",
        short: "echo 64 KiB",
        connections: 10,
        in_flight: 4,
        payload: Payload::Echo64k,
        transport: Transport::WebSocket,
    },
    Scenario {
        name: "10 connections × 4, batch of 10 `add`",
        short: "batch of 10",
        connections: 10,
        in_flight: 4,
        payload: Payload::Batch,
        transport: Transport::WebSocket,
    },
    Scenario {
        name: "HTTP `POST` `add`, 50 keep-alive connections (`wrk`)",
        short: "HTTP add, 50",
        connections: 50,
        in_flight: 1,
        payload: Payload::Add,
        transport: Transport::Http,
    },
];

/// A server under test: its name in the table, its binary, and whether it
/// answers with JSON-RPC or echoes.
struct Server {
    name: &'static str,
    binary: PathBuf,
    expect: &'static str,
}

/// The three servers of a transport: its limit, ours, the peer.
fn servers(bin: &Path, transport: Transport) -> [Server; 3] {
    let (limit, binary) = match transport {
        Transport::WebSocket => ("raw echo", "echo_server"),
        Transport::Http => ("bare hyper", "hyper_server"),
    };
    [
        Server {
            name: limit,
            binary: bin.join(binary),
            expect: "echo",
        },
        Server {
            name: "rpc-server",
            binary: bin.join("examples").join("bench_server"),
            expect: "rpc",
        },
        Server {
            name: "jsonrpsee 0.26",
            binary: bin.join("jsonrpsee_server"),
            expect: "rpc",
        },
    ]
}

/// The limit's column: the raw echo, or the bare hyper server in HTTP rows.
const ECHO: usize = 0;
const OURS: usize = 1;
const PEER: usize = 2;

fn main() {
    let args = Args::parse();
    let bin = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(Path::to_path_buf))
        .unwrap_or_default();
    let ws = servers(&bin, Transport::WebSocket);
    let http = servers(&bin, Transport::Http);
    for server in ws.iter().chain(&http) {
        if !server.binary.exists() {
            fail(&format!(
                "{} is missing: build it first (bash bench/run.sh does)",
                server.binary.display()
            ));
        }
    }
    let wrk = Command::new("wrk")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok();
    if !wrk {
        eprintln!("warning: no wrk (bench/run.sh installs it): the HTTP scenario is skipped");
    }
    let pinning = Pinning::detect(&args);
    let scenarios: Vec<&Scenario> = SCENARIOS
        .iter()
        .filter(|s| args.only.as_ref().is_none_or(|only| s.name.contains(only)))
        .filter(|s| wrk || s.transport != Transport::Http)
        .collect();

    // results[scenario][server] = one Measured per round.
    let mut results: Vec<[Vec<Measured>; 3]> =
        scenarios.iter().map(|_| Default::default()).collect();
    // memory[case][server] = one IdleMemory per round.
    let mut memory: [[Vec<IdleMemory>; 3]; 2] = Default::default();
    for round in 0..args.rounds {
        let label = |what: &str, server: &Server| {
            format!(
                "round {}/{}: {what} on {}",
                round + 1,
                args.rounds,
                server.name
            )
        };
        for (row, scenario) in scenarios.iter().enumerate() {
            let servers = match scenario.transport {
                Transport::WebSocket => &ws,
                Transport::Http => &http,
            };
            for index in rotation(round, servers.len()) {
                let server = &servers[index];
                let label = label(scenario.name, server);
                if scenario.transport == Transport::Http {
                    let measured = measure_http(&pinning, server, &label, scenario, &args);
                    eprintln!("  {}", cell(&measured));
                    results[row][index].push(measured);
                    continue;
                }
                let measured: Measured = measure(&bin, &pinning, server, &label, |running| {
                    vec![
                        "run".into(),
                        "--url".into(),
                        running.url.clone(),
                        "--connections".into(),
                        scenario.connections.to_string(),
                        "--in-flight".into(),
                        scenario.in_flight.to_string(),
                        "--payload".into(),
                        scenario.payload.name().into(),
                        "--warmup".into(),
                        args.warmup.to_string(),
                        "--duration".into(),
                        args.duration.to_string(),
                    ]
                });
                eprintln!("  {}", cell(&measured));
                results[row][index].push(measured);
            }
        }
        for (case, measured) in MEMORY.iter().zip(&mut memory) {
            let connections = args.idle_connections / case.fewer;
            if connections == 0 {
                continue;
            }
            let what = format!("memory of {connections} idle connections, {}", case.after);
            for index in rotation(round, ws.len()) {
                let server = &ws[index];
                let idle: IdleMemory =
                    measure(&bin, &pinning, server, &label(&what, server), |running| {
                        vec![
                            "idle".into(),
                            "--url".into(),
                            running.url.clone(),
                            "--pid".into(),
                            running.child.id().to_string(),
                            "--connections".into(),
                            connections.to_string(),
                            "--payload".into(),
                            case.payload.name().into(),
                        ]
                    });
                eprintln!("  {:.1} KiB per connection", idle.per_connection_kib);
                measured[index].push(idle);
            }
        }
    }

    print_report(&args, &pinning, &ws, &scenarios, &results, &memory);
    if let Some(dir) = &args.charts {
        draw_charts(dir, &args, &scenarios, &results, &memory)
            .unwrap_or_else(|err| fail(&format!("charts: {err}")));
    }
}

/// A chart's value and label for one server (by index) of a scenario's
/// medians.
type Cell<'a> = dyn Fn(&[Measured; 3], usize) -> (f64, String) + 'a;

/// Throughput (relative to the limit), p99 latency and memory per idle
/// connection, each an SVG file in `dir`.
fn draw_charts(
    dir: &Path,
    args: &Args,
    scenarios: &[&Scenario],
    results: &[[Vec<Measured>; 3]],
    memory: &[[Vec<IdleMemory>; 3]; 2],
) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|err| format!("{}: {err}", dir.display()))?;
    let medians: Vec<[Measured; 3]> = results
        .iter()
        .map(|runs| [0, 1, 2].map(|server| median_of(&runs[server])))
        .collect();
    // One group per scenario; `cell` gives a server's value and label.
    let groups = |cell: &Cell<'_>| -> Vec<Group> {
        scenarios
            .iter()
            .zip(&medians)
            .map(|(scenario, m)| Group {
                name: scenario.short.to_owned(),
                values: [0, 1, 2].map(|s| cell(m, s).0),
                labels: [0, 1, 2].map(|s| cell(m, s).1),
            })
            .collect()
    };
    let throughput = groups(&|m, s| {
        let per_second = m[s].per_second;
        (per_second / m[ECHO].per_second, rate(per_second))
    });
    let rounds = format!("medians of {} rounds", args.rounds);
    let title = format!("Round trips per second, relative to the limit ({rounds})");
    let chart = Chart {
        title: &title,
        axis: "÷ the limit",
        groups: &throughput,
        log: false,
    };
    charts::draw(&chart, &dir.join("throughput.svg"))?;
    let p99 = groups(&|m, s| (m[s].p99_us / 1_000.0, micros(m[s].p99_us)));
    let title = format!("p99 latency per round trip, lower is better ({rounds})");
    let chart = Chart {
        title: &title,
        axis: "ms (log scale)",
        groups: &p99,
        log: true,
    };
    charts::draw(&chart, &dir.join("p99.svg"))?;
    let idle: Vec<Group> = MEMORY
        .iter()
        .zip(memory)
        .filter_map(|(case, runs)| {
            let kib = median_kib(runs)?;
            Some(Group {
                name: format!(
                    "{} open, {}",
                    args.idle_connections / case.fewer,
                    case.after.replace('`', "")
                ),
                values: kib,
                labels: kib.map(|kib| format!("{kib:.1} KiB")),
            })
        })
        .collect();
    if !idle.is_empty() {
        let chart = Chart {
            title: "Server memory per idle WebSocket connection, lower is better",
            axis: "KiB (log scale)",
            groups: &idle,
            log: true,
        };
        charts::draw(&chart, &dir.join("memory.svg"))?;
    }
    Ok(())
}

fn print_report(
    args: &Args,
    pinning: &Pinning,
    servers: &[Server; 3],
    scenarios: &[&Scenario],
    results: &[[Vec<Measured>; 3]],
    memory: &[[Vec<IdleMemory>; 3]; 2],
) {
    println!(
        "Machine: {}, {} cores; {}. Medians of {} interleaved rounds, {} s warm-up + {} s measured each.",
        cpu_model(),
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        pinning.describe(),
        args.rounds,
        args.warmup,
        args.duration,
    );
    println!();
    println!(
        "| scenario | the limit | {} | {} | ours ÷ limit | ours ÷ jsonrpsee |",
        servers[OURS].name, servers[PEER].name
    );
    println!("|---|--:|--:|--:|--:|--:|");
    let mut targets = Targets::default();
    for (scenario, runs) in scenarios.iter().zip(results) {
        let medians: Vec<Measured> = runs.iter().map(|runs| median_of(runs)).collect();
        let to_echo = medians[OURS].per_second / medians[ECHO].per_second;
        let to_peer = medians[OURS].per_second / medians[PEER].per_second;
        println!(
            "| {} | {} | {} | {} | {:.2}× | {:.2}× |",
            scenario.name,
            cell(&medians[ECHO]),
            cell(&medians[OURS]),
            cell(&medians[PEER]),
            to_echo,
            to_peer
        );
        targets.scenario(scenario, &medians);
    }
    for (case, runs) in MEMORY.iter().zip(memory) {
        let Some(kib) = median_kib(runs) else {
            continue;
        };
        println!(
            "| memory per idle connection {} ({} open) | {:.1} KiB | {:.1} KiB | {:.1} KiB | {:.2}× | {:.2}× |",
            case.after,
            args.idle_connections / case.fewer,
            kib[ECHO],
            kib[OURS],
            kib[PEER],
            kib[OURS] / kib[ECHO],
            kib[OURS] / kib[PEER]
        );
        targets.memory(case, &kib);
    }
    println!();
    println!(
        "Each cell: round trips per second (a batch counts once) · median latency · p99. \
         The limit: a raw tokio-tungstenite echo over WebSocket, a bare hyper server \
         answering a fixed body over HTTP."
    );
    if !targets.0.is_empty() {
        println!();
        println!("| target | measured | met |");
        println!("|---|--:|:-:|");
        for (target, measured, met) in &targets.0 {
            println!(
                "| {target} | {measured} | {} |",
                if *met { "yes" } else { "**no**" }
            );
        }
    }
}

/// The targets, each with what this run measured.
#[derive(Default)]
struct Targets(Vec<(String, String, bool)>);

impl Targets {
    fn at_least(&mut self, target: &str, value: f64, floor: f64) {
        self.0.push((
            format!("{target} ≥ {floor}×"),
            format!("{value:.2}×"),
            value >= floor,
        ));
    }

    fn at_most(&mut self, target: &str, value: f64, ceiling: f64, unit: &str) {
        self.0.push((
            format!("{target} ≤ {ceiling}{unit}"),
            format!("{value:.2}{unit}"),
            value <= ceiling,
        ));
    }

    /// Issue 18's targets: ratios to the limit of the same run.
    fn scenario(&mut self, scenario: &Scenario, medians: &[Measured]) {
        let to_limit = medians[OURS].per_second / medians[ECHO].per_second;
        let to_peer = medians[OURS].per_second / medians[PEER].per_second;
        let p99 = medians[OURS].p99_us / medians[ECHO].p99_us;
        match (
            scenario.transport,
            scenario.connections,
            scenario.in_flight,
            scenario.payload,
        ) {
            (Transport::Http, ..) => {
                self.at_least("HTTP: ours ÷ bare hyper", to_limit, 0.90);
                self.at_least("HTTP: ours ÷ jsonrpsee", to_peer, 1.2);
            }
            (_, 1, 1, Payload::Add) => self.at_most(
                "1 × 1: median latency ÷ echo's",
                medians[OURS].p50_us / medians[ECHO].p50_us,
                1.10,
                "×",
            ),
            (_, 1, 64, Payload::Add) => self.at_least("1 × 64: ours ÷ echo", to_limit, 0.85),
            (_, 50, 8, Payload::Add) => {
                self.at_least("50 × 8: ours ÷ echo", to_limit, 0.90);
                self.at_most("50 × 8: p99 ÷ echo's", p99, 1.5, "×");
            }
            (.., Payload::Echo1k) => self.at_least("1 KiB echo: ours ÷ echo", to_limit, 0.85),
            (.., Payload::Echo64k) => self.at_least("64 KiB echo: ours ÷ echo", to_limit, 0.80),
            (.., Payload::Batch) => self.at_least("batch of 10: ours ÷ echo", to_limit, 0.85),
            _ => {}
        }
    }

    fn memory(&mut self, case: &MemoryCase, kib: &[f64; 3]) {
        let what = format!("memory per idle connection {}", case.after);
        self.at_most(&what, kib[OURS], case.target_kib, " KiB");
        if let Some(ratio) = case.peer_ratio {
            let to_peer = kib[OURS] / kib[PEER];
            self.at_most(&format!("{what}: ours ÷ jsonrpsee"), to_peer, ratio, "×");
        }
    }
}

fn cell(measured: &Measured) -> String {
    format!(
        "{} · p50 {} · p99 {}",
        rate(measured.per_second),
        micros(measured.p50_us),
        micros(measured.p99_us)
    )
}

fn rate(per_second: f64) -> String {
    if per_second >= 10_000.0 {
        format!("{:.0}k/s", per_second / 1000.0)
    } else {
        format!("{:.1}k/s", per_second / 1000.0)
    }
}

fn micros(us: f64) -> String {
    if us >= 1000.0 {
        format!("{:.1} ms", us / 1000.0)
    } else {
        format!("{us:.0} µs")
    }
}

/// Each server's median memory per connection, if it was measured.
fn median_kib(runs: &[Vec<IdleMemory>; 3]) -> Option<[f64; 3]> {
    runs.iter()
        .all(|runs| !runs.is_empty())
        .then(|| [0, 1, 2].map(|s| median(runs[s].iter().map(|m| m.per_connection_kib).collect())))
}

/// The median of each figure separately.
fn median_of(runs: &[Measured]) -> Measured {
    let pick = |field: fn(&Measured) -> f64| median(runs.iter().map(field).collect());
    Measured {
        round_trips: median(runs.iter().map(|r| r.round_trips as f64).collect()) as u64,
        seconds: pick(|r| r.seconds),
        per_second: pick(|r| r.per_second),
        p50_us: pick(|r| r.p50_us),
        p99_us: pick(|r| r.p99_us),
        p999_us: pick(|r| r.p999_us),
    }
}

fn median(mut values: Vec<f64>) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    values.sort_by(f64::total_cmp);
    let middle = values.len() / 2;
    if values.len() % 2 == 1 {
        values[middle]
    } else {
        (values[middle - 1] + values[middle]) / 2.0
    }
}

/// Whether processes can be pinned (taskset, and two cores).
struct Pinning {
    cores: Option<(usize, usize)>,
}

impl Pinning {
    fn detect(args: &Args) -> Self {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let taskset = Command::new("taskset")
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success());
        let usable = taskset && args.server_core.max(args.load_core) < cores;
        if !usable {
            eprintln!("warning: not pinning (needs taskset and two cores): figures are noisier");
        }
        Self {
            cores: usable.then_some((args.server_core, args.load_core)),
        }
    }

    fn command(&self, program: &Path, core: fn((usize, usize)) -> usize) -> Command {
        match self.cores {
            Some(cores) => {
                let mut command = Command::new("taskset");
                command.arg("-c").arg(core(cores).to_string()).arg(program);
                command
            }
            None => Command::new(program),
        }
    }

    fn describe(&self) -> String {
        match self.cores {
            Some((server, load)) => {
                format!("server pinned to core {server}, load generator to core {load}")
            }
            None => "not pinned".to_owned(),
        }
    }
}

/// A server process, killed when dropped.
struct Running {
    child: Child,
    url: String,
}

impl Running {
    fn start(server: &Server, pinning: &Pinning) -> Self {
        let mut child = pinning
            .command(&server.binary, |(server, _)| server)
            .args(["--addr", "127.0.0.1:0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|err| fail(&format!("{}: {err}", server.binary.display())));
        let mut line = String::new();
        if let Some(stdout) = child.stdout.take() {
            let _ = BufReader::new(stdout).read_line(&mut line);
        }
        let Some(url) = line.trim().strip_prefix("listening on ") else {
            let _ = child.kill();
            fail(&format!("{} did not say where it listens", server.name));
        };
        Self {
            url: url.to_owned(),
            child,
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The servers' order in `round`: a different one goes first each round.
fn rotation(round: usize, servers: usize) -> impl Iterator<Item = usize> {
    (0..servers).map(move |i| (i + round) % servers)
}

/// Starts `server` fresh and runs the load generator against it with the
/// arguments `load` gives (and the server's `--expect`).
fn measure<T: serde::de::DeserializeOwned>(
    bin: &Path,
    pinning: &Pinning,
    server: &Server,
    label: &str,
    load: impl FnOnce(&Running) -> Vec<String>,
) -> T {
    eprintln!("{label}");
    let running = Running::start(server, pinning);
    let mut args = load(&running);
    args.extend(["--expect".to_owned(), server.expect.to_owned()]);
    loadgen(bin, pinning, &args)
}

/// Starts `server` fresh, checks its answer to one `add` over HTTP, then
/// runs `wrk` against it, pinned: a warm-up, then the measured window.
fn measure_http(
    pinning: &Pinning,
    server: &Server,
    label: &str,
    scenario: &Scenario,
    args: &Args,
) -> Measured {
    eprintln!("{label}");
    let running = Running::start(server, pinning);
    let addr = running.url.split_once("://").map_or("", |(_, addr)| addr);
    rpc_bench::wrk::check(addr).unwrap_or_else(|err| fail(&format!("{}: {err}", server.name)));
    let script = std::env::temp_dir().join("rpc-bench-add.lua");
    std::fs::write(&script, rpc_bench::wrk::script())
        .unwrap_or_else(|err| fail(&format!("{}: {err}", script.display())));
    let wrk = |seconds: f64| {
        let output = pinning
            .command(Path::new("wrk"), |(_, load)| load)
            .args(["-t1", "--latency", "-s"])
            .arg(&script)
            .arg(format!("-c{}", scenario.connections))
            .arg(format!("-d{}s", seconds.ceil().max(1.0)))
            .arg(format!("http://{addr}/"))
            .stderr(Stdio::inherit())
            .output()
            .unwrap_or_else(|err| fail(&format!("wrk: {err}")));
        let printed = String::from_utf8_lossy(&output.stdout).into_owned();
        if !output.status.success() {
            fail(&format!("wrk failed:\n{printed}"));
        }
        rpc_bench::wrk::parse(&printed).unwrap_or_else(|err| fail(&err))
    };
    if args.warmup > 0.0 {
        wrk(args.warmup);
    }
    wrk(args.duration)
}

/// Runs the load generator, pinned, and parses the JSON line it prints.
fn loadgen<T: serde::de::DeserializeOwned>(bin: &Path, pinning: &Pinning, args: &[String]) -> T {
    let output = pinning
        .command(&bin.join("loadgen"), |(_, load)| load)
        .args(args)
        .stderr(Stdio::inherit())
        .output()
        .unwrap_or_else(|err| fail(&format!("loadgen: {err}")));
    if !output.status.success() {
        fail(&format!("loadgen {args:?} failed"));
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    serde_json::from_str(stdout.trim())
        .unwrap_or_else(|err| fail(&format!("loadgen printed {stdout:?}: {err}")))
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find_map(|line| line.strip_prefix("model name"))
                .map(|rest| rest.trim_start_matches([' ', '\t', ':']).to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".to_owned())
}

fn fail(message: &str) -> ! {
    eprintln!("compare: {message}");
    std::process::exit(1);
}
