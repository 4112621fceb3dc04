//! Broadcast fan-out: M members in one group, spread over one or more
//! server instances (their groups in this process, or shared on Redis),
//! receive bursts of messages; every delivery is counted and timed from
//! the moment the broadcast was sent.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use futures_util::{SinkExt as _, StreamExt as _};
use hdrhistogram::Histogram;
use rpc_server::groups::{Frame, GroupBackend, Position, Positioned};
use rpc_server::{RpcContext, rpc_service};
use tokio_tungstenite::tungstenite::Message;

use crate::load::{Socket, connect, new_histogram};

/// The service each instance runs: members join, a control client asks
/// for bursts.
#[allow(missing_debug_implementations)]
pub struct Fanout {
    /// The server's group backend (a clone of what it was built with).
    pub groups: Arc<dyn GroupBackend>,
}

#[rpc_service]
impl Fanout {
    /// Joins the group `all`.
    fn join(&self, ctx: &RpcContext) -> Result<(), rpc_server::RpcError> {
        ctx.join("all")
    }

    /// Joins a group of its own (named after the connection).
    fn join_own(&self, ctx: &RpcContext) -> Result<(), rpc_server::RpcError> {
        ctx.join(&ctx.connection_id().to_string())
    }

    /// Members of `all` over every instance.
    async fn members(&self) -> Result<usize, rpc_server::RpcError> {
        self.groups
            .member_count("all")
            .await
            .map_err(rpc_server::RpcError::internal)
    }

    /// `a + b`: the call of the client measured beside the members.
    fn add(&self, a: u64, b: u64) -> u64 {
        a.wrapping_add(b)
    }

    /// Follows `all` as a subscription (`m` items: `[n, sent]` with their
    /// positions when it keeps history), after `since` when given.
    #[rpc(subscription = "m")]
    fn follow(
        &self,
        ctx: &RpcContext,
        since: Option<Position>,
    ) -> Result<
        impl futures_util::Stream<Item = Positioned<serde_json::Value>> + Send + 'static,
        rpc_server::RpcError,
    > {
        Ok(ctx.group_stream_since("all", since)?.params_of("m"))
    }

    /// Broadcasts `count` messages to `all`, numbered from `first`, each
    /// stamped with the time it was sent.
    fn burst(&self, first: u64, count: u64) {
        for n in first..first + count {
            let frame = Frame::notification("m", (n, unix_nanos())).expect("numbers serialize");
            self.groups.broadcast("all", &frame);
        }
    }
}

/// Nanoseconds since the Unix epoch: comparable between processes on one
/// machine.
pub fn unix_nanos() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_nanos() as u64)
}

/// What to run.
#[derive(Debug, Clone)]
pub struct Plan {
    /// `ws://` URLs of the instances; members are spread over them in turn.
    pub urls: Vec<String>,
    /// Members of the group.
    pub members: usize,
    /// Messages per burst.
    pub burst: u64,
    /// Bursts, each sent once the one before is delivered in full.
    pub bursts: u64,
}

/// What a run measured.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Measured {
    /// Members of the group.
    pub members: usize,
    /// Messages broadcast.
    pub messages: u64,
    /// Deliveries counted: members × messages (anything less fails the run).
    pub delivered: u64,
    /// From the first burst's request to the last delivery.
    pub seconds: f64,
    /// Deliveries to members per second.
    pub deliveries_per_second: f64,
    /// Broadcasts per second.
    pub messages_per_second: f64,
    /// Median delivery latency, from sending to a member's reading it.
    pub p50_us: f64,
    /// 99th percentile.
    pub p99_us: f64,
}

/// Runs `plan` on the current runtime. Fails if a member is disconnected
/// or a burst is not delivered in full within 60 s.
pub async fn run(plan: &Plan) -> Result<Measured, String> {
    let mut members = Vec::with_capacity(plan.members);
    for n in 0..plan.members {
        let mut socket = connect(&plan.urls[n % plan.urls.len()]).await?;
        call(&mut socket, "join", "[]").await?;
        members.push(socket);
    }
    let mut control = connect(&plan.urls[0]).await?;
    // Joining is asynchronous across instances: wait until every member
    // counts everywhere (a counted member hears the group).
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let counted = call(&mut control, "members", "[]").await?;
        if counted == plan.members.to_string() {
            break;
        }
        if Instant::now() > deadline {
            return Err(format!(
                "only {counted} of {} members counted",
                plan.members
            ));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let delivered = Arc::new(AtomicU64::new(0));
    let expected = plan.burst * plan.bursts;
    let readers: Vec<_> = members
        .into_iter()
        .map(|socket| tokio::spawn(receive(socket, expected, Arc::clone(&delivered))))
        .collect();
    let started = Instant::now();
    for round in 0..plan.bursts {
        let params = format!("[{}, {}]", round * plan.burst, plan.burst);
        call(&mut control, "burst", &params).await?;
        let target = (round + 1) * plan.burst * plan.members as u64;
        let deadline = Instant::now() + Duration::from_secs(60);
        while delivered.load(Ordering::Relaxed) < target {
            if Instant::now() > deadline {
                return Err(format!(
                    "burst {round}: {} of {target} deliveries",
                    delivered.load(Ordering::Relaxed)
                ));
            }
            tokio::time::sleep(Duration::from_micros(200)).await;
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    let mut latency = new_histogram();
    for reader in readers {
        let histogram = reader.await.map_err(|err| err.to_string())??;
        latency.add(histogram).map_err(|err| err.to_string())?;
    }
    let total = delivered.load(Ordering::Relaxed);
    Ok(Measured {
        members: plan.members,
        messages: expected,
        delivered: total,
        seconds,
        deliveries_per_second: total as f64 / seconds,
        messages_per_second: expected as f64 / seconds,
        p50_us: latency.value_at_quantile(0.5) as f64 / 1_000.0,
        p99_us: latency.value_at_quantile(0.99) as f64 / 1_000.0,
    })
}

/// One instance as full of connections as the process may hold.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Scale {
    /// Members connected, each in the group `all`.
    pub connections: usize,
    /// The instance's resident memory per member, idle.
    pub server_kib_per_connection: f64,
    /// One broadcast to every member, idle until then: when the first and
    /// the last member read it, from its sending.
    pub broadcast_first_ms: f64,
    /// The last member.
    pub broadcast_last_ms: f64,
    /// A second broadcast, once the first is delivered: the first member...
    pub warm_broadcast_first_ms: f64,
    /// ...and the last.
    pub warm_broadcast_last_ms: f64,
    /// CPU time the instance spent from the first broadcast to its last
    /// delivery...
    pub broadcast_server_cpu_ms: f64,
    /// ...and the members' process (reading and checking every message).
    pub broadcast_members_cpu_ms: f64,
    /// `add` round trips of one more client, one in flight: with no other
    /// connection, then beside every member, idle.
    pub alone_p50_us: f64,
    /// 99th percentile, alone.
    pub alone_p99_us: f64,
    /// Median, beside the idle members.
    pub crowded_p50_us: f64,
    /// 99th percentile, beside the idle members.
    pub crowded_p99_us: f64,
}

/// Fills the instance at `url` (process `pid`) with `connections` members
/// and measures it (see [`Scale`]); `round_trips` for each latency.
pub async fn scale(
    url: &str,
    pid: u32,
    connections: usize,
    round_trips: u64,
) -> Result<Scale, String> {
    let latency = || async {
        let load = crate::load::Load {
            url: url.to_owned(),
            connections: 1,
            in_flight: 1,
            payload: crate::payload::Payload::Add,
            expect: crate::payload::Expect::Rpc,
            length: crate::load::Length::RoundTrips(round_trips),
        };
        crate::load::run(&load).await
    };
    let alone = latency().await?;

    let before = crate::idle::resident_kib(pid)?;
    // Sixty-four handshakes at a time: a full instance in seconds.
    let members: Vec<Socket> = futures_util::stream::iter(0..connections)
        .map(|_| async {
            let mut socket = connect(url).await?;
            call(&mut socket, "join", "[]").await?;
            Ok::<_, String>(socket)
        })
        .buffer_unordered(64)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<Result<_, _>>()?;
    let mut control = connect(url).await?;
    let counted = call(&mut control, "members", "[]").await?;
    if counted != connections.to_string() {
        return Err(format!("{counted} of {connections} members counted"));
    }
    // Let the connections settle (the read-ahead gives its buffer back
    // once a connection goes quiet).
    tokio::time::sleep(Duration::from_secs(1)).await;
    let after = crate::idle::resident_kib(pid)?;
    let crowded = latency().await?;

    // Two broadcasts, the second once the first is delivered in full: the
    // first finds every connection cold (its buffers given back while
    // idle), the second warm.
    let delivered = Arc::new(AtomicU64::new(0));
    let readers: Vec<_> = members
        .into_iter()
        .map(|socket| tokio::spawn(arrivals_of_two(socket, Arc::clone(&delivered))))
        .collect();
    let cpu = || {
        Ok::<_, String>((
            crate::idle::cpu_ms(pid)?,
            crate::idle::cpu_ms(std::process::id())?,
        ))
    };
    let cpu_before = cpu()?;
    call(&mut control, "burst", "[0, 1]").await?;
    let all = connections as u64;
    wait_for(&delivered, all).await?;
    let cpu_after = cpu()?;
    call(&mut control, "burst", "[1, 1]").await?;
    wait_for(&delivered, 2 * all).await?;
    let (mut cold, mut warm) = (new_histogram(), new_histogram());
    let mut sockets = Vec::with_capacity(connections);
    for reader in readers {
        let ([first, second], socket) = reader.await.map_err(|err| err.to_string())??;
        cold.saturating_record(first);
        warm.saturating_record(second);
        sockets.push(socket);
    }
    drop(sockets);
    let millis = |nanos: u64| nanos as f64 / 1e6;
    Ok(Scale {
        connections,
        server_kib_per_connection: after.saturating_sub(before) as f64 / connections as f64,
        broadcast_first_ms: millis(cold.min()),
        broadcast_last_ms: millis(cold.max()),
        warm_broadcast_first_ms: millis(warm.min()),
        warm_broadcast_last_ms: millis(warm.max()),
        broadcast_server_cpu_ms: cpu_after.0 - cpu_before.0,
        broadcast_members_cpu_ms: cpu_after.1 - cpu_before.1,
        alone_p50_us: alone.p50_us,
        alone_p99_us: alone.p99_us,
        crowded_p50_us: crowded.p50_us,
        crowded_p99_us: crowded.p99_us,
    })
}

/// What closing many connections at once costs the others.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Churn {
    /// Connections that each joined a group of their own, then closed at
    /// once.
    pub connections: usize,
    /// The slowest `join` of a new client while they closed.
    pub worst_join_ms: f64,
    /// The median `join` of a new client while they closed.
    pub median_join_ms: f64,
}

/// Opens `connections` that each join a group of their own, closes them
/// all at once, and times a new client's `join`s meanwhile.
pub async fn churn(url: &str, connections: usize) -> Result<Churn, String> {
    let mut sockets = Vec::with_capacity(connections);
    for _ in 0..connections {
        let mut socket = connect(url).await?;
        call(&mut socket, "join_own", "[]").await?;
        sockets.push(socket);
    }
    let mut probe = connect(url).await?;
    let closing = tokio::spawn(async move {
        for socket in sockets {
            drop(socket);
        }
    });
    let mut times = Vec::new();
    let until = Instant::now() + Duration::from_secs(2);
    while Instant::now() < until {
        let started = Instant::now();
        call(&mut probe, "join", "[]").await?;
        times.push(started.elapsed().as_secs_f64() * 1_000.0);
    }
    closing.await.map_err(|err| err.to_string())?;
    times.sort_by(f64::total_cmp);
    Ok(Churn {
        connections,
        worst_join_ms: times.last().copied().unwrap_or(0.0),
        median_join_ms: times[times.len() / 2],
    })
}

/// A member: reads `expected` messages, in order, timing each.
async fn receive(
    mut socket: Socket,
    expected: u64,
    delivered: Arc<AtomicU64>,
) -> Result<Histogram<u64>, String> {
    let mut latency = new_histogram();
    for n in 0..expected {
        latency.saturating_record(read_numbered(&mut socket, n).await?);
        delivered.fetch_add(1, Ordering::Relaxed);
    }
    Ok(latency)
}

/// The delays (nanoseconds from sending) with which a member reads the
/// broadcasts numbered 0 and 1; and the socket, still open (closing it at
/// once would add its teardown to what the instance does while others
/// still wait for their broadcast).
async fn arrivals_of_two(
    mut socket: Socket,
    delivered: Arc<AtomicU64>,
) -> Result<([u64; 2], Socket), String> {
    let mut delays = [0; 2];
    for (n, delay) in (0..).zip(delays.iter_mut()) {
        *delay = read_numbered(&mut socket, n).await?;
        delivered.fetch_add(1, Ordering::Relaxed);
    }
    Ok((delays, socket))
}

/// Reads broadcast `n` (`[n, sent_unix_nanos]`, the server's pings let
/// by) and returns its delay in nanoseconds from its sending.
pub(crate) async fn read_numbered(socket: &mut Socket, n: u64) -> Result<u64, String> {
    let text = loop {
        match socket.next().await {
            Some(Ok(Message::Text(text))) => break text,
            // tungstenite answers them.
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
            other => return Err(format!("member lost at message {n}: {other:?}")),
        }
    };
    let message: serde_json::Value = serde_json::from_str(&text).map_err(|err| err.to_string())?;
    if message["params"][0] != n {
        return Err(format!("expected message {n}, got {text}"));
    }
    let sent = message["params"][1].as_u64().unwrap_or(0);
    Ok(unix_nanos().saturating_sub(sent))
}

/// Prints `value` as one JSON line (what the tools' callers read).
pub fn print_json(value: &impl serde::Serialize) -> Result<(), String> {
    println!(
        "{}",
        serde_json::to_string(value).map_err(|err| err.to_string())?
    );
    Ok(())
}

/// Waits until `delivered` reaches `target` (60 s at most).
async fn wait_for(delivered: &AtomicU64, target: u64) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs(60);
    while delivered.load(Ordering::Relaxed) < target {
        if Instant::now() > deadline {
            let got = delivered.load(Ordering::Relaxed);
            return Err(format!("{got} of {target} deliveries"));
        }
        tokio::time::sleep(Duration::from_micros(200)).await;
    }
    Ok(())
}

/// Calls `method` and returns its raw result.
pub async fn call(socket: &mut Socket, method: &str, params: &str) -> Result<String, String> {
    let request = format!(r#"{{"jsonrpc":"2.0","method":"{method}","params":{params},"id":1}}"#);
    socket
        .send(Message::Text(request.into()))
        .await
        .map_err(|err| err.to_string())?;
    loop {
        match socket.next().await {
            Some(Ok(Message::Text(text))) => {
                let reply: serde_json::Value =
                    serde_json::from_str(&text).map_err(|err| err.to_string())?;
                if reply.get("id").is_some() {
                    return match reply.get("result") {
                        Some(result) => Ok(result.to_string()),
                        None => Err(format!("{method} failed: {text}")),
                    };
                }
            }
            Some(Ok(_)) => {}
            other => return Err(format!("{method}: connection lost: {other:?}")),
        }
    }
}
