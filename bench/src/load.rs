//! The load: C connections, each keeping P requests in flight, a warm-up,
//! then a timed window in which every answer is checked and timed; or a
//! fixed number of round trips, for counting instructions.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use futures_util::{FutureExt as _, SinkExt as _, StreamExt as _};
use hdrhistogram::Histogram;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use crate::payload::{Expect, Payload, Requests};

/// What to run.
#[derive(Debug, Clone)]
pub struct Load {
    /// `ws://host:port/`.
    pub url: String,
    /// Connections, opened before the warm-up.
    pub connections: usize,
    /// Requests in flight on each connection.
    pub in_flight: usize,
    /// What each request is.
    pub payload: Payload,
    /// What the server answers.
    pub expect: Expect,
    /// How long it runs.
    pub length: Length,
}

/// How long a load runs.
#[derive(Debug, Clone, Copy)]
pub enum Length {
    /// A warm-up, then the measured window.
    Timed {
        /// Load before the measurement starts.
        warmup: Duration,
        /// The measured window.
        duration: Duration,
    },
    /// This many round trips on each connection, all measured.
    RoundTrips(u64),
}

/// What a run measured.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Measured {
    /// Round trips answered inside the window (a batch counts once).
    pub round_trips: u64,
    /// The window, in seconds.
    pub seconds: f64,
    /// Round trips per second.
    pub per_second: f64,
    /// Latency percentiles of the window's round trips, in microseconds.
    pub p50_us: f64,
    /// 99th percentile.
    pub p99_us: f64,
    /// 99.9th percentile.
    pub p999_us: f64,
}

/// How long an answer may take before the run is called failed.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(30);

/// Runs `load` on the current runtime. Fails on the first wrong or missing
/// answer, or a connection that fails.
pub async fn run(load: &Load) -> Result<Measured, String> {
    let mut sockets = Vec::with_capacity(load.connections);
    for _ in 0..load.connections {
        sockets.push(connect(&load.url).await?);
    }
    let start = Instant::now() + Duration::from_millis(50);
    let window = match load.length {
        Length::Timed { warmup, duration } => Window {
            from: start + warmup,
            until: start + warmup + duration,
            round_trips: u64::MAX,
        },
        Length::RoundTrips(round_trips) => Window {
            from: start,
            until: start + Duration::from_secs(24 * 3600),
            round_trips,
        },
    };
    let tasks: Vec<_> = sockets
        .into_iter()
        .map(|socket| {
            let requests = Requests::new(load.payload, load.expect);
            let in_flight = load.in_flight;
            tokio::spawn(async move {
                tokio::time::sleep_until(start.into()).await;
                drive(socket, requests, in_flight, window).await
            })
        })
        .collect();
    let mut latency = new_histogram();
    for task in tasks {
        let histogram = task
            .await
            .map_err(|err| format!("a connection panicked: {err}"))??;
        latency
            .add(&histogram)
            .map_err(|err| format!("histogram: {err}"))?;
    }
    let seconds = match load.length {
        Length::Timed { duration, .. } => duration.as_secs_f64(),
        Length::RoundTrips(_) => start.elapsed().as_secs_f64(),
    };
    let micros = |quantile| latency.value_at_quantile(quantile) as f64 / 1000.0;
    Ok(Measured {
        round_trips: latency.len(),
        seconds,
        per_second: latency.len() as f64 / seconds,
        p50_us: micros(0.5),
        p99_us: micros(0.99),
        p999_us: micros(0.999),
    })
}

/// A client WebSocket.
pub type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Opens one WebSocket (with buffers sized for small and 64 KiB messages
/// alike).
pub async fn connect(url: &str) -> Result<Socket, String> {
    let config = WebSocketConfig::default().read_buffer_size(16 * 1024);
    let (socket, _) = tokio_tungstenite::connect_async_with_config(url, Some(config), true)
        .await
        .map_err(|err| format!("connect to {url}: {err}"))?;
    Ok(socket)
}

/// When answers count, and when sending stops.
#[derive(Debug, Clone, Copy)]
struct Window {
    from: Instant,
    until: Instant,
    /// Round trips a connection makes at most.
    round_trips: u64,
}

/// An empty latency histogram, in nanoseconds.
pub fn new_histogram() -> Histogram<u64> {
    // Nanoseconds, 1 µs to 60 s, 3 significant digits.
    Histogram::new_with_bounds(1_000, 60_000_000_000, 3).expect("valid histogram bounds")
}

/// Keeps `in_flight` requests outstanding on one connection until the
/// window closes, then waits for the last answers.
async fn drive(
    mut socket: Socket,
    requests: Requests,
    in_flight: usize,
    window: Window,
) -> Result<Histogram<u64>, String> {
    let mut latency = new_histogram();
    let mut sent_at: HashMap<u64, Instant> = HashMap::with_capacity(in_flight * 2);
    let mut next = 0u64;
    let mut request = String::new();
    let mut scratch = String::new();
    let failed = |err: tokio_tungstenite::tungstenite::Error| format!("connection failed: {err}");
    loop {
        let now = Instant::now();
        let more = |next| now < window.until && next < window.round_trips;
        if more(next) && sent_at.len() < in_flight {
            while sent_at.len() < in_flight && more(next) {
                requests.write(next, &mut request);
                socket
                    .feed(Message::text(request.as_str()))
                    .await
                    .map_err(failed)?;
                sent_at.insert(next, now);
                next += 1;
            }
            socket.flush().await.map_err(failed)?;
        }
        if sent_at.is_empty() {
            break;
        }
        let message = tokio::time::timeout(ANSWER_TIMEOUT, socket.next())
            .await
            .map_err(|_| format!("no answer within {ANSWER_TIMEOUT:?}"))?;
        let mut message = Some(message);
        // Everything already received, before sending more.
        while let Some(received) = message {
            let text = match received {
                Some(Ok(Message::Text(text))) => text,
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => {
                    message = socket.next().now_or_never();
                    continue;
                }
                Some(Ok(other)) => return Err(format!("unexpected message: {other:?}")),
                Some(Err(err)) => return Err(failed(err)),
                None => return Err("the server closed the connection".to_owned()),
            };
            let n = requests.check(&text, &mut scratch)?;
            let sent = sent_at
                .remove(&n)
                .ok_or_else(|| format!("answer to round trip {n}, which is not in flight"))?;
            let received_at = Instant::now();
            if window.from <= received_at && received_at <= window.until {
                let nanos = received_at.duration_since(sent).as_nanos() as u64;
                latency.saturating_record(nanos.max(1_000));
            }
            message = socket.next().now_or_never();
        }
    }
    let _ = socket.close(None).await;
    Ok(latency)
}
