//! Memory per idle connection: the server's resident memory before and
//! after N connections that each made one call and then went quiet.

use std::time::Duration;

use futures_util::{SinkExt as _, StreamExt as _};
use tokio_tungstenite::tungstenite::Message;

use crate::load::connect;
use crate::payload::{Expect, Payload, Requests};

/// What the idle measurement found.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct IdleMemory {
    /// Connections held open.
    pub connections: usize,
    /// The server's resident memory before they opened, in KiB.
    pub rss_before_kib: u64,
    /// With all of them open and idle, in KiB.
    pub rss_after_kib: u64,
    /// The difference, per connection, in KiB.
    pub per_connection_kib: f64,
}

/// Opens `connections` to `url` (served by process `pid`), one call of
/// `payload` on each, and reads the server's memory with them all idle.
pub async fn measure(
    url: &str,
    pid: u32,
    connections: usize,
    payload: Payload,
    expect: Expect,
) -> Result<IdleMemory, String> {
    let rss_before_kib = resident_kib(pid)?;
    let requests = Requests::new(payload, expect);
    let opened: Vec<_> = futures_util::stream::iter(0..connections)
        .map(|n| {
            let requests = requests.clone();
            async move {
                let mut socket = connect(url).await?;
                let mut text = String::new();
                requests.write(n as u64, &mut text);
                socket
                    .send(Message::text(text))
                    .await
                    .map_err(|err| err.to_string())?;
                match socket.next().await {
                    Some(Ok(Message::Text(answer))) => {
                        let mut scratch = String::new();
                        requests.check(&answer, &mut scratch)?;
                    }
                    other => return Err(format!("no answer: {other:?}")),
                }
                Ok::<_, String>(socket)
            }
        })
        .buffer_unordered(32)
        .collect()
        .await;
    let sockets = opened.into_iter().collect::<Result<Vec<_>, _>>()?;
    // Let the server settle (tasks parked, buffers released).
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss_after_kib = resident_kib(pid)?;
    drop(sockets);
    Ok(IdleMemory {
        connections,
        rss_before_kib,
        rss_after_kib,
        per_connection_kib: rss_after_kib.saturating_sub(rss_before_kib) as f64
            / connections as f64,
    })
}

/// A process's resident set size (`VmRSS`), in KiB.
pub fn resident_kib(pid: u32) -> Result<u64, String> {
    let path = format!("/proc/{pid}/status");
    let status = std::fs::read_to_string(&path).map_err(|err| format!("{path}: {err}"))?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or_else(|| format!("no VmRSS in {path}"))
}

/// The CPU time a process has used (user and system), in milliseconds,
/// assuming the usual 100 clock ticks a second.
pub fn cpu_ms(pid: u32) -> Result<f64, String> {
    let path = format!("/proc/{pid}/stat");
    let stat = std::fs::read_to_string(&path).map_err(|err| format!("{path}: {err}"))?;
    // After the command name (in parentheses, which may hold spaces):
    // fields 3 on; utime and stime are fields 14 and 15.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let ticks = |i: usize| fields.get(i - 3).and_then(|v| v.parse::<u64>().ok());
    match (ticks(14), ticks(15)) {
        (Some(user), Some(system)) => Ok((user + system) as f64 * 10.0),
        _ => Err(format!("no CPU times in {path}")),
    }
}
