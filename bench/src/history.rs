//! What group history costs: how long followers that come back at once
//! take to get what they missed, and the memory a group's history holds.

use std::time::{Duration, Instant};

use futures_util::StreamExt as _;
use rpc_server::groups::{Frame, GroupBackend as _, GroupHistory, HistoryRules, LocalGroups};
use tokio_tungstenite::tungstenite::Message;

use crate::fanout::call;
use crate::load::{Socket, connect, new_histogram};

/// What a recovery run measured.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Recovery {
    /// Followers that came back at once.
    pub clients: usize,
    /// Messages each had missed.
    pub missed: u64,
    /// From the first follower's reconnect to the last one's having every
    /// missed message.
    pub seconds: f64,
    /// Per follower, from its reconnect to its last missed message: median.
    pub p50_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
}

/// `clients` followers of `all` on the instance at `url` read one message,
/// go away, miss `missed` messages, and come back at once with `since`;
/// every follower must get exactly the messages it missed, in order.
pub async fn recovery(url: &str, clients: usize, missed: u64) -> Result<Recovery, String> {
    let mut control = connect(url).await?;
    let mut followers = Vec::with_capacity(clients);
    for _ in 0..clients {
        let mut socket = connect(url).await?;
        call(&mut socket, "follow", "[]").await?;
        followers.push(socket);
    }
    call(&mut control, "burst", "[0, 1]").await?;
    let mut since = String::new();
    for socket in &mut followers {
        let item = next_item(socket).await?;
        since = item["position"].to_string();
    }
    for socket in followers.drain(..) {
        drop(socket);
    }
    call(&mut control, "burst", &format!("[1, {missed}]")).await?;
    // Stored before anyone asks (through Redis: one round trip).
    tokio::time::sleep(Duration::from_millis(200)).await;

    let started = Instant::now();
    let comebacks: Vec<_> = (0..clients)
        .map(|_| {
            let url = url.to_owned();
            let since = since.clone();
            tokio::spawn(async move {
                let began = Instant::now();
                let mut socket = connect(&url).await?;
                call(&mut socket, "follow", &format!("[{since}]")).await?;
                for n in 1..=missed {
                    let item = next_item(&mut socket).await?;
                    if item["result"][0] != n {
                        return Err(format!("expected {n}, got {item}"));
                    }
                }
                Ok::<_, String>(began.elapsed())
            })
        })
        .collect();
    let mut latency = new_histogram();
    for comeback in comebacks {
        let took = comeback.await.map_err(|err| err.to_string())??;
        latency.saturating_record(took.as_nanos() as u64);
    }
    Ok(Recovery {
        clients,
        missed,
        seconds: started.elapsed().as_secs_f64(),
        p50_ms: latency.value_at_quantile(0.5) as f64 / 1e6,
        p99_ms: latency.value_at_quantile(0.99) as f64 / 1e6,
    })
}

/// The params of the next subscription item.
async fn next_item(socket: &mut Socket) -> Result<serde_json::Value, String> {
    loop {
        match socket.next().await {
            Some(Ok(Message::Text(text))) => {
                let message: serde_json::Value =
                    serde_json::from_str(&text).map_err(|err| err.to_string())?;
                if message["method"] == "m" {
                    return Ok(message["params"].clone());
                }
            }
            Some(Ok(_)) => {}
            other => return Err(format!("follower lost: {other:?}")),
        }
    }
}

/// What history holds in memory.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Memory {
    /// Groups with history.
    pub groups: usize,
    /// Messages kept per group.
    pub messages: usize,
    /// Bytes of each message's frame.
    pub frame_bytes: usize,
    /// The frames' bytes, as the histories count them, per group.
    pub counted_kib_per_group: f64,
    /// This process's resident memory per group (frames, positions, the
    /// maps), measured.
    pub resident_kib_per_group: f64,
}

/// `groups` groups of `LocalGroups` each keep `messages` messages of
/// `frame_bytes` bytes: the memory per group.
pub fn memory(groups: usize, messages: usize, frame_bytes: usize) -> Result<Memory, String> {
    let local = LocalGroups::new()
        .with_history(
            HistoryRules::new().rule("*", GroupHistory::new(messages, Duration::from_secs(3600))),
        )
        .with_history_bytes(usize::MAX);
    let pid = std::process::id();
    let before = crate::idle::resident_kib(pid)?;
    let padding = "x".repeat(frame_bytes.saturating_sub(48));
    for group in 0..groups {
        let name = format!("room:{group}");
        for n in 0..messages {
            // Each frame its own allocation, as broadcasts are.
            let frame = Frame::notification("m", (n, &padding)).map_err(|err| err.to_string())?;
            local.broadcast(&name, &frame);
        }
    }
    let after = crate::idle::resident_kib(pid)?;
    Ok(Memory {
        groups,
        messages,
        frame_bytes,
        counted_kib_per_group: local.history_bytes() as f64 / 1024.0 / groups as f64,
        resident_kib_per_group: after.saturating_sub(before) as f64 / groups as f64,
    })
}
