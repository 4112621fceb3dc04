//! Connections at scale over several instances: N members in one group,
//! spread over instances sharing groups on Redis, held by several member
//! processes (a process may hold at most 20,000 descriptors here, so
//! neither side fits in one). One broadcast to all, then a burst, every
//! delivery counted.
//!
//! The coordinator ([`cluster`]) and its member processes ([`members`])
//! speak in lines on the members' stdout: `ready` once every member has
//! joined, then one [`Arrivals`] line per broadcast phase. A member process
//! holds its sockets until its stdin closes, so none closes while another
//! process still waits for its deliveries.

use std::process::Stdio;
use std::time::Duration;

use futures_util::StreamExt as _;
use hdrhistogram::Histogram;
use tokio::io::{AsyncBufReadExt as _, AsyncReadExt as _, BufReader, Lines};
use tokio::process::{Child, ChildStdout};
use tokio::sync::mpsc;

use crate::fanout::{call, print_json, read_numbered};
use crate::load::{Socket, connect, new_histogram};

/// What the members of one process saw of one broadcast phase.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct Arrivals {
    /// Messages read, every one in order (a lost one fails the process).
    pub deliveries: u64,
    /// The earliest delivery, in nanoseconds from its broadcast's sending.
    pub first_ns: u64,
    /// The latest.
    pub last_ns: u64,
    /// Median delivery latency.
    pub p50_ns: u64,
    /// 99th percentile.
    pub p99_ns: u64,
}

impl Arrivals {
    fn of(histogram: &Histogram<u64>) -> Self {
        Self {
            deliveries: histogram.len(),
            first_ns: histogram.min(),
            last_ns: histogram.max(),
            p50_ns: histogram.value_at_quantile(0.5),
            p99_ns: histogram.value_at_quantile(0.99),
        }
    }
}

/// One member process: `connections` members of `all` at `url`. Each reads
/// message 0 (one broadcast), then messages 1 to `burst`; the process
/// prints `ready`, then the [`Arrivals`] of each phase, then waits for its
/// stdin to close.
pub async fn members(url: &str, connections: usize, burst: u64) -> Result<(), String> {
    let (first_sent, mut firsts) = mpsc::unbounded_channel();
    let (burst_sent, mut bursts) = mpsc::unbounded_channel();
    // Each member reads from the moment it has joined, so that it answers
    // the server's pings while the others join.
    let joined: Vec<Result<(), String>> = futures_util::stream::iter(0..connections)
        .map(|_| async {
            let mut socket = connect(url).await?;
            call(&mut socket, "join", "[]").await?;
            tokio::spawn(member(
                socket,
                burst,
                first_sent.clone(),
                burst_sent.clone(),
            ));
            Ok(())
        })
        .buffer_unordered(64)
        .collect()
        .await;
    joined.into_iter().collect::<Result<(), String>>()?;
    drop((first_sent, burst_sent));
    println!("ready");

    let mut first = new_histogram();
    for _ in 0..connections {
        let delay = firsts.recv().await.ok_or("a member ended")??;
        first.saturating_record(delay);
    }
    print_json(&Arrivals::of(&first))?;
    let mut all = new_histogram();
    let mut held = Vec::with_capacity(connections);
    for _ in 0..connections {
        let (delays, socket) = bursts.recv().await.ok_or("a member ended")??;
        for delay in delays {
            all.saturating_record(delay);
        }
        held.push(socket);
    }
    print_json(&Arrivals::of(&all))?;
    // Every socket stays open until the coordinator is done with every
    // process.
    let _ = tokio::io::stdin().read_to_end(&mut Vec::new()).await;
    drop(held);
    Ok(())
}

type Sender<T> = mpsc::UnboundedSender<Result<T, String>>;

/// One member: message 0, then messages 1 to `burst`, timed; its socket is
/// handed back with the burst's delays.
async fn member(
    mut socket: Socket,
    burst: u64,
    first: Sender<u64>,
    all: Sender<(Vec<u64>, Socket)>,
) {
    let _ = first.send(read_numbered(&mut socket, 0).await);
    // Plain numbers: a histogram each (tens of KiB to set up) would cost
    // more than the reading while others still read.
    let mut delays = Vec::with_capacity(burst as usize);
    for n in 1..=burst {
        match read_numbered(&mut socket, n).await {
            Ok(delay) => delays.push(delay),
            Err(err) => {
                let _ = all.send(Err(err));
                return;
            }
        }
    }
    let _ = all.send(Ok((delays, socket)));
}

/// What a run over several instances measured.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Cluster {
    /// Members, each in the group `all`.
    pub connections: usize,
    /// Instances sharing the group on Redis.
    pub instances: usize,
    /// Member processes holding the connections.
    pub member_processes: usize,
    /// The instances' resident memory per member, idle (all instances'
    /// growth over all members).
    pub server_kib_per_connection: f64,
    /// One broadcast to every member, sent on one instance: when the first
    /// and the last member read it, from its sending.
    pub broadcast_first_ms: f64,
    /// The last member.
    pub broadcast_last_ms: f64,
    /// CPU time the instances spent from that broadcast's sending to its
    /// last delivery...
    pub broadcast_server_cpu_ms: f64,
    /// ...and the member processes (reading and checking every message).
    pub broadcast_members_cpu_ms: f64,
    /// From starting the member processes to every member's having joined.
    pub join_seconds: f64,
    /// Broadcasts in the burst that follows.
    pub burst: u64,
    /// Deliveries of the burst counted (members × burst, or the run fails).
    pub burst_deliveries: u64,
    /// The burst's last delivery, from the sending of its message.
    pub burst_last_ms: f64,
    /// The burst's median delivery latency.
    pub burst_p50_ms: f64,
    /// Its 99th percentile (the largest of the member processes').
    pub burst_p99_ms: f64,
}

/// The instances and member processes to start.
#[derive(Debug, Clone)]
pub struct ClusterPlan {
    /// Members in all.
    pub connections: usize,
    /// `ws://` URLs of the running instances.
    pub urls: Vec<String>,
    /// Their process ids (for their memory).
    pub pids: Vec<u32>,
    /// Messages in the burst.
    pub burst: u64,
    /// This program, to start member processes with.
    pub exe: std::path::PathBuf,
}

/// Fills the instances of `plan` with members, one member process per
/// instance, and measures (see [`Cluster`]). Fails if any member is lost or
/// a phase takes longer than two minutes.
pub async fn cluster(plan: &ClusterPlan) -> Result<Cluster, String> {
    let resident = |pids: &[u32]| -> Result<u64, String> {
        pids.iter().map(|&pid| crate::idle::resident_kib(pid)).sum()
    };
    let before = resident(&plan.pids)?;
    let count = plan.urls.len();
    let mut processes = Vec::with_capacity(count);
    for (n, url) in plan.urls.iter().enumerate() {
        // The remainder goes to the first processes.
        let share = plan.connections / count + usize::from(n < plan.connections % count);
        processes.push(MemberProcess::spawn(&plan.exe, url, share, plan.burst)?);
    }
    let started = std::time::Instant::now();
    for process in &mut processes {
        process.expect_ready().await?;
    }
    let join_seconds = started.elapsed().as_secs_f64();
    let mut control = connect(&plan.urls[0]).await?;
    // Joins reach Redis asynchronously: wait until all count everywhere.
    let deadline = tokio::time::Instant::now() + PHASE;
    loop {
        let counted = call(&mut control, "members", "[]").await?;
        if counted == plan.connections.to_string() {
            break;
        }
        if tokio::time::Instant::now() > deadline {
            return Err(format!("{counted} of {} members counted", plan.connections));
        }
        tokio::time::sleep(Duration::from_millis(1000)).await;
    }
    // Let the connections settle (read-ahead buffers are given back once a
    // connection goes quiet).
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = resident(&plan.pids)?;

    let member_pids: Vec<u32> = processes.iter().filter_map(|p| p.child.id()).collect();
    let cpu = |pids: &[u32]| -> Result<f64, String> {
        pids.iter().map(|&pid| crate::idle::cpu_ms(pid)).sum()
    };
    let cpu_before = (cpu(&plan.pids)?, cpu(&member_pids)?);
    call(&mut control, "burst", "[0, 1]").await?;
    let broadcast = collect(&mut processes).await?;
    let cpu_after = (cpu(&plan.pids)?, cpu(&member_pids)?);
    let params = format!("[1, {}]", plan.burst);
    call(&mut control, "burst", &params).await?;
    let burst = collect(&mut processes).await?;
    let expected = plan.connections as u64 * plan.burst;
    if broadcast.deliveries != plan.connections as u64 || burst.deliveries != expected {
        return Err(format!(
            "delivered {} of {} and {} of {expected}",
            broadcast.deliveries, plan.connections, burst.deliveries
        ));
    }
    let millis = |nanos: u64| nanos as f64 / 1e6;
    Ok(Cluster {
        connections: plan.connections,
        instances: count,
        member_processes: processes.len(),
        server_kib_per_connection: after.saturating_sub(before) as f64 / plan.connections as f64,
        broadcast_first_ms: millis(broadcast.first_ns),
        broadcast_last_ms: millis(broadcast.last_ns),
        broadcast_server_cpu_ms: cpu_after.0 - cpu_before.0,
        broadcast_members_cpu_ms: cpu_after.1 - cpu_before.1,
        join_seconds,
        burst: plan.burst,
        burst_deliveries: burst.deliveries,
        burst_last_ms: millis(burst.last_ns),
        burst_p50_ms: millis(burst.p50_ns),
        burst_p99_ms: millis(burst.p99_ns),
    })
}

/// How long the members may take to join, or to read one phase.
const PHASE: Duration = Duration::from_secs(120);

/// The member processes' [`Arrivals`] of one phase, together: the earliest
/// first, the latest last, the largest p99, and the median of the medians
/// (the processes hold equal shares).
async fn collect(processes: &mut [MemberProcess]) -> Result<Arrivals, String> {
    let mut all = Vec::with_capacity(processes.len());
    for process in processes.iter_mut() {
        let line = process.next_line().await?;
        all.push(serde_json::from_str::<Arrivals>(&line).map_err(|err| err.to_string())?);
    }
    let mut medians: Vec<u64> = all.iter().map(|a| a.p50_ns).collect();
    medians.sort_unstable();
    Ok(Arrivals {
        deliveries: all.iter().map(|a| a.deliveries).sum(),
        first_ns: all.iter().map(|a| a.first_ns).min().unwrap_or(0),
        last_ns: all.iter().map(|a| a.last_ns).max().unwrap_or(0),
        p50_ns: medians.get(medians.len() / 2).copied().unwrap_or(0),
        p99_ns: all.iter().map(|a| a.p99_ns).max().unwrap_or(0),
    })
}

/// A running member process and its stdout.
struct MemberProcess {
    child: Child,
    lines: Lines<BufReader<ChildStdout>>,
}

impl MemberProcess {
    fn spawn(
        exe: &std::path::Path,
        url: &str,
        connections: usize,
        burst: u64,
    ) -> Result<Self, String> {
        let mut child = tokio::process::Command::new(exe)
            .args(["members", "--url", url])
            .args(["--connections", &connections.to_string()])
            .args(["--burst", &burst.to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|err| err.to_string())?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        Ok(Self {
            child,
            lines: BufReader::new(stdout).lines(),
        })
    }

    async fn next_line(&mut self) -> Result<String, String> {
        match tokio::time::timeout(PHASE, self.lines.next_line()).await {
            Ok(Ok(Some(line))) => Ok(line),
            Ok(Ok(None)) => Err("a member process ended (see its error above)".into()),
            Ok(Err(err)) => Err(err.to_string()),
            Err(_) => Err("a member process took longer than two minutes".into()),
        }
    }

    async fn expect_ready(&mut self) -> Result<(), String> {
        match self.next_line().await?.as_str() {
            "ready" => Ok(()),
            other => Err(format!("a member process said {other:?}")),
        }
    }
}
