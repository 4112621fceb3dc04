//! The load of the dashboard's run: WebSocket clients that come and go
//! along a day's shape squeezed into minutes (a ramp, a plateau, a surge,
//! a payment incident, a ramp down), each making the shop's calls with a
//! little think time; members of the deals group that read what is pushed
//! to them and a few that never do; an announcer; and a page on another
//! site trying to connect.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use futures_util::{SinkExt as _, StreamExt as _};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream, connect_async};

/// The origin the servers allow; the refused page comes from another.
pub const ALLOWED_ORIGIN: &str = "https://shop.example";

/// Members of the deals group that never read.
const SLOW_MEMBERS: usize = 3;

/// What the run asks of the servers.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The servers, taken in turn by each new client.
    pub instances: Vec<SocketAddr>,
    /// How long the load runs.
    pub duration: Duration,
    /// Clients connected at the surge.
    pub peak_clients: usize,
}

/// What the clients did.
#[derive(Debug, Clone, Copy, Default)]
pub struct Done {
    /// Calls answered.
    pub calls: u64,
    /// Clients that connected.
    pub clients: u64,
}

/// The share of the peak's clients connected `progress` (0 to 1) into the
/// run.
fn clients_at(progress: f64) -> f64 {
    match progress {
        p if p < 0.15 => p / 0.15 * 0.35,
        p if p < 0.45 => 0.35,
        p if p < 0.55 => 1.0,
        p if p < 0.8 => 0.45,
        p => 0.45 - (p - 0.8) / 0.2 * 0.35,
    }
}

/// The share of checkouts declined: 1%, and 30% during the payment
/// provider's incident.
fn declines_at(progress: f64) -> f64 {
    if (0.62..0.72).contains(&progress) {
        0.3
    } else {
        0.01
    }
}

/// Runs the load of `plan` and says what it did; fails if a client failed.
pub async fn run(plan: &Plan) -> Result<Done, String> {
    let started = Instant::now();
    let stop = Arc::new(AtomicBool::new(false));
    let mut background = Vec::new();
    for n in 0..SLOW_MEMBERS {
        let addr = plan.instances[n % plan.instances.len()];
        background.push(tokio::spawn(slow_member(addr, Arc::clone(&stop))));
    }
    background.push(tokio::spawn(announcer(
        plan.instances[0],
        Arc::clone(&stop),
    )));
    background.push(tokio::spawn(foreign_page(
        plan.instances[0],
        Arc::clone(&stop),
    )));

    let mut active: VecDeque<Client> = VecDeque::new();
    let mut retired = Vec::new();
    let mut spawned = 0u64;
    let mut last_churn = Instant::now();
    let mut tick = tokio::time::interval(Duration::from_millis(200));
    while started.elapsed() < plan.duration {
        tick.tick().await;
        let progress = started.elapsed().as_secs_f64() / plan.duration.as_secs_f64();
        let target = (clients_at(progress) * plan.peak_clients as f64).round() as usize;
        // Some clients leave and others arrive even at a steady level.
        if last_churn.elapsed() >= Duration::from_secs(1) {
            last_churn = Instant::now();
            if let Some(oldest) = active.pop_front() {
                retired.push(oldest.stop());
            }
        }
        while active.len() < target {
            let addr = plan.instances[spawned as usize % plan.instances.len()];
            active.push_back(Client::spawn(addr, spawned, started, plan.duration));
            spawned += 1;
        }
        while active.len() > target {
            if let Some(oldest) = active.pop_front() {
                retired.push(oldest.stop());
            }
        }
    }
    retired.extend(active.into_iter().map(Client::stop));
    stop.store(true, Ordering::Relaxed);
    let mut done = Done {
        calls: 0,
        clients: spawned,
    };
    for handle in retired {
        done.calls += handle.await.map_err(|e| e.to_string())??;
    }
    for handle in background {
        done.calls += handle.await.map_err(|e| e.to_string())??;
    }
    Ok(done)
}

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// A client making calls until told to stop.
struct Client {
    stop: Arc<AtomicBool>,
    task: JoinHandle<Result<u64, String>>,
}

impl Client {
    fn spawn(addr: SocketAddr, number: u64, started: Instant, duration: Duration) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let task = tokio::spawn(calls(addr, number, Arc::clone(&stop), started, duration));
        Self { stop, task }
    }

    fn stop(self) -> JoinHandle<Result<u64, String>> {
        self.stop.store(true, Ordering::Relaxed);
        self.task
    }
}

/// One client's calls; every third client is also a member of the deals
/// group and reads what it is sent. The number of calls answered.
async fn calls(
    addr: SocketAddr,
    number: u64,
    stop: Arc<AtomicBool>,
    started: Instant,
    duration: Duration,
) -> Result<u64, String> {
    let (mut ws, _) = connect_async(format!("ws://{addr}"))
        .await
        .map_err(|e| format!("connect to {addr}: {e}"))?;
    let mut rng = Rng::new(number);
    let mut id = 0;
    if number.is_multiple_of(3) {
        id += 1;
        call(&mut ws, "deals", json!([]), id).await?;
    }
    while !stop.load(Ordering::Relaxed) {
        let progress = started.elapsed().as_secs_f64() / duration.as_secs_f64();
        let (method, params) = pick(&mut rng, progress);
        id += 1;
        call(&mut ws, method, params, id).await?;
        tokio::time::sleep(Duration::from_millis(10 + rng.below(30))).await;
    }
    let _ = ws.close(None).await;
    Ok(id)
}

/// The next call: mostly prices and searches, some cart updates (3% with
/// a quantity of zero), checkouts, and a stale client's removed method.
fn pick(rng: &mut Rng, progress: f64) -> (&'static str, Value) {
    let item = rng.below(1_000);
    match rng.below(1_000) {
        0..400 => ("price", json!([item])),
        400..700 => ("search", json!(["lamp", rng.below(1 << 20)])),
        700..880 => {
            let quantity = if rng.chance(0.03) {
                0
            } else {
                1 + rng.below(3)
            };
            ("cart.add", json!([item, quantity]))
        }
        880..990 => {
            // A multiple of 100 is declined.
            let declined = rng.chance(declines_at(progress));
            let seed = rng.below(1 << 20) * 100 + u64::from(!declined) * (1 + rng.below(99));
            ("checkout", json!([item, seed]))
        }
        _ => ("cart.remove", json!([item])),
    }
}

/// Sends a call and waits for its reply, reading past pushes.
async fn call(ws: &mut Ws, method: &str, params: Value, id: u64) -> Result<Value, String> {
    let request = json!({"jsonrpc": "2.0", "method": method, "params": params, "id": id});
    ws.send(Message::text(request.to_string()))
        .await
        .map_err(|e| format!("{method}: {e}"))?;
    loop {
        match ws.next().await {
            Some(Ok(Message::Text(text))) => {
                let reply: Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
                if reply["id"] == id {
                    return Ok(reply);
                }
            }
            Some(Ok(_)) => {}
            Some(Err(err)) => return Err(format!("{method}: {err}")),
            None => return Err(format!("{method}: connection closed")),
        }
    }
}

/// A member of the deals group that never reads: its queue fills, and the
/// server drops what does not fit.
async fn slow_member(addr: SocketAddr, stop: Arc<AtomicBool>) -> Result<u64, String> {
    let (mut ws, _) = connect_async(format!("ws://{addr}"))
        .await
        .map_err(|e| e.to_string())?;
    call(&mut ws, "deals", json!([]), 1).await?;
    while !stop.load(Ordering::Relaxed) {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(1)
}

/// Announces a deal of 16 KiB to the group 20 times a second.
async fn announcer(addr: SocketAddr, stop: Arc<AtomicBool>) -> Result<u64, String> {
    let (mut ws, _) = connect_async(format!("ws://{addr}"))
        .await
        .map_err(|e| e.to_string())?;
    let deal = "%".repeat(16 * 1024);
    let mut tick = tokio::time::interval(Duration::from_millis(50));
    let mut id = 0;
    while !stop.load(Ordering::Relaxed) {
        tick.tick().await;
        id += 1;
        call(&mut ws, "announce", json!([deal]), id).await?;
    }
    Ok(id)
}

/// A page on another site opening a WebSocket once a second: refused.
async fn foreign_page(addr: SocketAddr, stop: Arc<AtomicBool>) -> Result<u64, String> {
    while !stop.load(Ordering::Relaxed) {
        let mut request = format!("ws://{addr}")
            .into_client_request()
            .map_err(|e| e.to_string())?;
        request.headers_mut().insert(
            "origin",
            "https://evil.example".parse().map_err(|_| "origin")?,
        );
        if connect_async(request).await.is_ok() {
            return Err("a foreign origin was let in".to_owned());
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    Ok(0)
}

/// xorshift64*: the load's choices, reproducible from a client's number.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, bound: u64) -> u64 {
        self.next() % bound
    }

    fn chance(&mut self, share: f64) -> bool {
        ((self.next() >> 11) as f64 / (1u64 << 53) as f64) < share
    }
}
