//! Broadcast fan-out: messages delivered per second and delivery latency,
//! members on one instance (`LocalGroups`) or spread over instances sharing
//! Redis, next to redis-rs pub/sub with nothing of ours in between. Prints
//! one JSON line.
//!
//! Run with: cargo run --release -p rpc-bench --bin fanout -- run --members 1000 --instances 2 --backend redis --redis redis://127.0.0.1:6379

use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand, ValueEnum};
use futures_util::StreamExt as _;
use redis::AsyncCommands as _;
use rpc_bench::cluster::{self, ClusterPlan};
use rpc_bench::fanout::{self, Fanout, Plan, print_json, unix_nanos};
use rpc_bench::load::new_histogram;
use rpc_redis::{RedisConfig, RedisGroups};
use rpc_server::Server;
use rpc_server::groups::{GroupBackend, GroupHistory, HistoryRules, LocalGroups};
use tokio::io::{AsyncBufReadExt as _, BufReader};

#[derive(Parser)]
#[command(about = "Measure broadcast fan-out")]
struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Backend {
    Local,
    Redis,
}

#[derive(Subcommand)]
enum Command {
    /// Starts the instances (processes of their own), joins the members
    /// and sends the bursts.
    Run {
        #[arg(long, default_value_t = 1_000)]
        members: usize,
        #[arg(long, default_value_t = 1)]
        instances: usize,
        #[arg(long, value_enum, default_value_t = Backend::Local)]
        backend: Backend,
        #[arg(long, default_value = "redis://127.0.0.1:6379")]
        redis: String,
        /// Messages per burst.
        #[arg(long, default_value_t = 100)]
        burst: u64,
        #[arg(long, default_value_t = 10)]
        bursts: u64,
        /// The group keeps history (10,000 messages, 10 minutes).
        #[arg(long)]
        history: bool,
    },
    /// Followers of a group with history come back at once, each having
    /// missed the same messages: how long until every one has them all.
    Recovery {
        #[arg(long, default_value_t = 1_000)]
        clients: usize,
        #[arg(long, default_value_t = 100)]
        missed: u64,
        #[arg(long, value_enum, default_value_t = Backend::Local)]
        backend: Backend,
        #[arg(long, default_value = "redis://127.0.0.1:6379")]
        redis: String,
    },
    /// Memory per group of history, in this process (`LocalGroups`), and
    /// in Redis (`MEMORY USAGE` of one group's stream).
    Memory {
        #[arg(long, default_value_t = 1_000)]
        groups: usize,
        #[arg(long, default_value_t = 1_000)]
        messages: usize,
        #[arg(long, default_value_t = 100)]
        frame_bytes: usize,
        #[arg(long, default_value = "redis://127.0.0.1:6379")]
        redis: String,
    },
    /// Connections that each joined a group of their own close at once:
    /// how long a new client's `join` waits meanwhile.
    Churn {
        #[arg(long, default_value_t = 9_000)]
        connections: usize,
    },
    /// One instance filled with members (19,500 fit under a limit of
    /// 20,000 descriptors; raise the soft limit first, as
    /// `bench/scale.sh` does): its memory per connection, one broadcast to
    /// all, and one more client's `add` latency beside them.
    Scale {
        #[arg(long, default_value_t = 19_500)]
        connections: usize,
        /// `add` round trips for each latency.
        #[arg(long, default_value_t = 5_000)]
        round_trips: u64,
    },
    /// N members over several instances sharing Redis, held by one member
    /// process per instance (each process stays under the descriptor
    /// limit; raise the soft limit first, as `bench/cluster.sh` does): the
    /// instances' memory per connection, one broadcast to all, then a burst,
    /// every delivery counted.
    Cluster {
        #[arg(long, default_value_t = 100_000)]
        connections: usize,
        #[arg(long, default_value_t = 6)]
        instances: usize,
        #[arg(long, default_value = "redis://127.0.0.1:6379")]
        redis: String,
        /// Broadcasts in the burst after the first.
        #[arg(long, default_value_t = 100)]
        burst: u64,
    },
    /// One member process (what `cluster` starts).
    Members {
        #[arg(long)]
        url: String,
        #[arg(long)]
        connections: usize,
        #[arg(long)]
        burst: u64,
    },
    /// One instance (what `run` starts).
    Serve {
        #[arg(long, value_enum)]
        backend: Backend,
        #[arg(long)]
        redis: String,
        #[arg(long)]
        prefix: String,
        #[arg(long)]
        history: bool,
    },
    /// redis-rs alone: one publisher, S subscribers on one channel.
    Raw {
        #[arg(long, default_value = "redis://127.0.0.1:6379")]
        redis: String,
        #[arg(long, default_value_t = 2)]
        subscribers: usize,
        #[arg(long, default_value_t = 100)]
        burst: u64,
        #[arg(long, default_value_t = 10)]
        bursts: u64,
        /// Each message also stored in a stream first (XADD, then PUBLISH).
        #[arg(long)]
        history: bool,
    },
}

#[tokio::main]
async fn main() -> Result<(), String> {
    match Args::parse().command {
        Command::Run {
            members,
            instances,
            backend,
            redis,
            burst,
            bursts,
            history,
        } => {
            if backend == Backend::Local && instances > 1 {
                return Err("instances without Redis share nothing: use --backend redis".into());
            }
            let prefix = format!("bench:{}", rpc_server::groups::InstanceId::random());
            let mut children = Vec::new();
            let mut urls = Vec::new();
            for _ in 0..instances {
                let (child, url) = spawn_instance(backend, &redis, &prefix, history).await?;
                children.push(child);
                urls.push(url);
            }
            let plan = Plan {
                urls,
                members,
                burst,
                bursts,
            };
            let measured = fanout::run(&plan).await?;
            print_json(&measured)?;
            for mut child in children {
                let _ = child.kill().await;
            }
            Ok(())
        }
        Command::Churn { connections } => {
            let (mut child, url) = spawn_instance(Backend::Local, "", "", false).await?;
            let measured = fanout::churn(&url, connections).await?;
            print_json(&measured)?;
            let _ = child.kill().await;
            Ok(())
        }
        Command::Scale {
            connections,
            round_trips,
        } => {
            let (mut child, url) = spawn_instance(Backend::Local, "", "", false).await?;
            let pid = child.id().ok_or("the instance ended")?;
            let measured = fanout::scale(&url, pid, connections, round_trips).await?;
            print_json(&measured)?;
            let _ = child.kill().await;
            Ok(())
        }
        Command::Cluster {
            connections,
            instances,
            redis,
            burst,
        } => {
            let prefix = format!("bench:{}", rpc_server::groups::InstanceId::random());
            let mut children = Vec::new();
            let (mut urls, mut pids) = (Vec::new(), Vec::new());
            for _ in 0..instances {
                let (child, url) = spawn_instance(Backend::Redis, &redis, &prefix, false).await?;
                pids.push(child.id().ok_or("an instance ended")?);
                children.push(child);
                urls.push(url);
            }
            let plan = ClusterPlan {
                connections,
                urls,
                pids,
                burst,
                exe: std::env::current_exe().map_err(|e| e.to_string())?,
            };
            let measured = cluster::cluster(&plan).await?;
            print_json(&measured)?;
            Ok(())
        }
        Command::Members {
            url,
            connections,
            burst,
        } => cluster::members(&url, connections, burst).await,
        Command::Serve {
            backend,
            redis,
            prefix,
            history,
        } => serve(backend, &redis, &prefix, history).await,
        Command::Raw {
            redis,
            subscribers,
            burst,
            bursts,
            history,
        } => raw(&redis, subscribers, burst, bursts, history).await,
        Command::Recovery {
            clients,
            missed,
            backend,
            redis,
        } => {
            let prefix = format!("bench:{}", rpc_server::groups::InstanceId::random());
            let (mut child, url) = spawn_instance(backend, &redis, &prefix, true).await?;
            let measured = rpc_bench::history::recovery(&url, clients, missed).await?;
            print_json(&measured)?;
            let _ = child.kill().await;
            Ok(())
        }
        Command::Memory {
            groups,
            messages,
            frame_bytes,
            redis,
        } => {
            let local = rpc_bench::history::memory(groups, messages, frame_bytes)?;
            let in_redis = redis_stream_memory(&redis, messages, frame_bytes).await?;
            print_json(&serde_json::json!({"local": local, "redis_kib_per_group": in_redis}))
        }
    }
}

async fn spawn_instance(
    backend: Backend,
    redis: &str,
    prefix: &str,
    history: bool,
) -> Result<(tokio::process::Child, String), String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let backend = match backend {
        Backend::Local => "local",
        Backend::Redis => "redis",
    };
    let mut child = tokio::process::Command::new(exe)
        .args([
            "serve",
            "--backend",
            backend,
            "--redis",
            redis,
            "--prefix",
            prefix,
        ])
        .args(history.then_some("--history"))
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| e.to_string())?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let mut lines = BufReader::new(stdout).lines();
    while let Some(line) = lines.next_line().await.map_err(|e| e.to_string())? {
        if let Some(addr) = line.strip_prefix("listening on ") {
            return Ok((child, addr.to_owned()));
        }
    }
    Err("an instance did not start".into())
}

/// What a group with history keeps in the benchmarks.
const HISTORY: GroupHistory = GroupHistory::new(10_000, Duration::from_secs(600));

async fn serve(backend: Backend, redis: &str, prefix: &str, history: bool) -> Result<(), String> {
    let rules = if history {
        HistoryRules::new().rule("all", HISTORY)
    } else {
        HistoryRules::new()
    };
    let groups: Arc<dyn GroupBackend> = match backend {
        Backend::Local => Arc::new(LocalGroups::new().with_history(rules)),
        Backend::Redis => {
            let mut config = RedisConfig::new(redis);
            config.prefix = prefix.to_owned();
            config.history = rules;
            let groups = RedisGroups::with_config(config).map_err(|e| e.to_string())?;
            if !groups.wait_connected(Duration::from_secs(5)).await {
                return Err(format!("no Redis at {redis}"));
            }
            Arc::new(groups)
        }
    };
    let server = Server::builder()
        .max_connections(20_000)
        .groups(Arc::clone(&groups))
        .serve("127.0.0.1:0", Fanout { groups })
        .map_err(|e| e.to_string())?;
    println!("listening on ws://{}", server.local_addr());
    server.await.map_err(|e| e.to_string())
}

/// The KiB one group's stream holds in Redis with `messages` messages of
/// `frame_bytes` bytes, stored by rpc-redis (`MEMORY USAGE`).
async fn redis_stream_memory(
    url: &str,
    messages: usize,
    frame_bytes: usize,
) -> Result<f64, String> {
    let prefix = format!("bench:{}", rpc_server::groups::InstanceId::random());
    let mut config = RedisConfig::new(url);
    config.prefix = prefix.clone();
    config.history =
        HistoryRules::new().rule("*", GroupHistory::new(messages, Duration::from_secs(600)));
    let groups = RedisGroups::with_config(config).map_err(|e| e.to_string())?;
    if !groups.wait_connected(Duration::from_secs(5)).await {
        return Err(format!("no Redis at {url}"));
    }
    let padding = "x".repeat(frame_bytes.saturating_sub(48));
    for n in 0..messages {
        groups
            .notify_group("mem", "m", (n, &padding))
            .map_err(|e| e.to_string())?;
    }
    if !groups.flush(Duration::from_secs(30)).await {
        return Err("the history was not stored in time".into());
    }
    let mut redis = redis::Client::open(url)
        .map_err(|e| e.to_string())?
        .get_multiplexed_async_connection()
        .await
        .map_err(|e| e.to_string())?;
    let stream = format!("{prefix}:h:{{mem}}");
    let bytes: u64 = redis::cmd("MEMORY")
        .arg("USAGE")
        .arg(&stream)
        .arg("SAMPLES")
        .arg(0)
        .query_async(&mut redis)
        .await
        .map_err(|e| e.to_string())?;
    let _: Result<(), _> = redis.del(&[stream.clone(), format!("{stream}:pos")]).await;
    groups.shutdown().await;
    Ok(bytes as f64 / 1024.0)
}

/// The limit underneath: PUBLISH pipelined per burst from one connection,
/// received by `subscribers` pub/sub connections; with `history`, each
/// message stored in a capped stream first (XADD, then PUBLISH: what
/// rpc-redis's script does, without the script).
async fn raw(
    url: &str,
    subscribers: usize,
    burst: u64,
    bursts: u64,
    history: bool,
) -> Result<(), String> {
    let client = redis::Client::open(url).map_err(|e| e.to_string())?;
    let channel = format!("bench:raw:{}", rpc_server::groups::InstanceId::random());
    let expected = burst * bursts;
    let mut readers = Vec::new();
    for _ in 0..subscribers {
        let mut pubsub = client.get_async_pubsub().await.map_err(|e| e.to_string())?;
        pubsub
            .subscribe(&channel)
            .await
            .map_err(|e| e.to_string())?;
        readers.push(tokio::spawn(async move {
            let mut latency = new_histogram();
            let mut messages = pubsub.on_message();
            for _ in 0..expected {
                let message = messages.next().await.ok_or("subscription ended")?;
                let payload: String = message.get_payload().map_err(|e| e.to_string())?;
                let sent: u64 = payload
                    .split_once(' ')
                    .and_then(|(_, sent)| sent.parse().ok())
                    .unwrap_or(0);
                latency.saturating_record(unix_nanos().saturating_sub(sent));
            }
            Ok::<_, String>(latency)
        }));
    }
    let mut publisher = client
        .get_multiplexed_async_connection()
        .await
        .map_err(|e| e.to_string())?;
    let started = Instant::now();
    for round in 0..bursts {
        let mut pipe = redis::pipe();
        for n in round * burst..(round + 1) * burst {
            let payload = format!("{n} {}", unix_nanos());
            if history {
                pipe.cmd("XADD")
                    .arg(format!("{channel}:stream"))
                    .arg("MAXLEN")
                    .arg("~")
                    .arg(10_000)
                    .arg("*")
                    .arg("f")
                    .arg(&payload)
                    .ignore();
            }
            pipe.publish(&channel, payload).ignore();
        }
        let () = pipe
            .query_async(&mut publisher)
            .await
            .map_err(|e| e.to_string())?;
    }
    let mut latency = new_histogram();
    for reader in readers {
        latency
            .add(reader.await.map_err(|e| e.to_string())??)
            .map_err(|e| e.to_string())?;
    }
    let seconds = started.elapsed().as_secs_f64();
    let _: Result<(), _> = publisher.del(format!("{channel}:stream")).await;
    println!(
        "{}",
        serde_json::json!({
            "subscribers": subscribers,
            "messages": expected,
            "seconds": seconds,
            "messages_per_second": expected as f64 / seconds,
            "deliveries_per_second": (expected * subscribers as u64) as f64 / seconds,
            "p50_us": latency.value_at_quantile(0.5) as f64 / 1_000.0,
            "p99_us": latency.value_at_quantile(0.99) as f64 / 1_000.0,
        })
    );
    Ok(())
}
