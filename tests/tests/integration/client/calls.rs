//! The rpc-client crate against the real server: calls, batches, typed
//! clients, serving the server, reconnect, keepalive, limits.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use rpc_client::{Batch, CallError, Client, ConnectionState, Reconnect, rpc_client};
use rpc_server::{RpcContext, RpcError, ServerHandle, rpc_service, serve};
use serde_json::{Value, json};
use ws::within;

use crate::common::ws;

const LIMIT: Duration = Duration::from_secs(60);

struct Calc;

#[rpc_service]
impl Calc {
    async fn subtract(&self, minuend: i64, subtrahend: i64) -> i64 {
        minuend - subtrahend
    }

    #[rpc(name = "math.divide")]
    async fn divide(&self, a: f64, b: f64) -> Result<f64, RpcError> {
        if b == 0.0 {
            return Err(RpcError::new(4000, "division by zero"));
        }
        Ok(a / b)
    }

    async fn sleep(&self, ms: u64) -> u64 {
        tokio::time::sleep(Duration::from_millis(ms)).await;
        ms
    }

    /// Calls the client's `double`, and notifies it.
    async fn ask_back(&self, ctx: &RpcContext, n: i64) -> Result<i64, RpcError> {
        let peer = ctx.peer().expect("a peer");
        peer.notify("asked", [n]).await?;
        Ok(peer.call::<i64>("double", [n]).await?)
    }

    fn join(&self, ctx: &RpcContext, room: String) -> Result<(), RpcError> {
        ctx.join(&room)
    }
}

/// The calculator's API, as a client sees it (the trait itself is not
/// implemented here).
#[rpc_client]
#[allow(dead_code)]
trait Calculator {
    async fn subtract(&self, minuend: i64, subtrahend: i64) -> i64;
    #[rpc(name = "math.divide")]
    async fn divide(&self, a: f64, b: f64) -> Result<f64, RpcError>;
    async fn sleep(&self, ms: u64) -> u64;
}

fn start() -> ServerHandle {
    serve("127.0.0.1:0", Calc).unwrap().spawn()
}

fn url(addr: SocketAddr) -> String {
    format!("ws://{addr}")
}

#[tokio::test]
async fn calls_notifications_and_batches() {
    within(LIMIT, async {
        let server = start();
        let client = Client::connect(&url(server.local_addr())).await.unwrap();
        assert_eq!(client.call::<i64>("subtract", (42, 23)).await.unwrap(), 19);
        assert_eq!(
            client
                .call::<i64>("subtract", json!({"subtrahend": 23, "minuend": 42}))
                .await
                .unwrap(),
            19
        );
        match client.call::<f64>("math.divide", (1, 0)).await {
            Err(CallError::Remote(error)) => assert_eq!(error.code().code(), 4000),
            other => panic!("{other:?}"),
        }
        client.notify("subtract", (1, 1)).await.unwrap();
        let batch = Batch::new()
            .call("subtract", (5, 3))
            .unwrap()
            .notify("subtract", (0, 0))
            .unwrap()
            .call("nope", ())
            .unwrap();
        let results = client.batch(batch).await.unwrap();
        assert_eq!(results.len(), 2);
        assert_eq!(results[0].as_ref().unwrap().get(), "2");
        assert!(matches!(&results[1], Err(CallError::Remote(e)) if e.code().code() == -32601));
        client.close().await;
        assert_eq!(client.state(), ConnectionState::Closed);
        server.shutdown_and_wait().await;
    })
    .await;
}

#[tokio::test]
async fn a_typed_client_calls_like_a_trait() {
    within(LIMIT, async {
        let server = start();
        let calc = CalculatorClient::new(Client::connect(&url(server.local_addr())).await.unwrap());
        assert_eq!(calc.subtract(42, 23).await.unwrap(), 19);
        assert_eq!(calc.divide(1.0, 4.0).await.unwrap(), 0.25);
        assert!(matches!(
            calc.divide(1.0, 0.0).await,
            Err(CallError::Remote(_))
        ));
        server.shutdown_and_wait().await;
    })
    .await;
}

/// What the client serves to the server.
struct Doubler;

#[rpc_service]
impl Doubler {
    fn double(&self, n: i64) -> i64 {
        n * 2
    }
}

#[tokio::test]
async fn the_client_answers_the_servers_calls_and_notifications() {
    within(LIMIT, async {
        let server = start();
        let asked = Arc::new(AtomicUsize::new(0));
        let seen = Arc::clone(&asked);
        let client = Client::builder(&url(server.local_addr()))
            .answer_server_calls(Doubler)
            .on_notification("asked", move |params| {
                let [n]: [i64; 1] = params.parse().unwrap();
                seen.fetch_add(n as usize, Ordering::SeqCst);
            })
            .connect()
            .await
            .unwrap();
        assert_eq!(client.call::<i64>("ask_back", [21]).await.unwrap(), 42);
        assert_eq!(asked.load(Ordering::SeqCst), 21);
        server.shutdown_and_wait().await;
    })
    .await;
}

#[tokio::test]
async fn the_pending_cap_and_the_request_timeout_trip() {
    within(LIMIT, async {
        let server = start();
        let client = Client::builder(&url(server.local_addr()))
            .max_pending_requests(2)
            .request_timeout(Duration::from_millis(300))
            .connect()
            .await
            .unwrap();
        let slow = |ms: u64| {
            let client = client.clone();
            tokio::spawn(async move { client.call::<u64>("sleep", [ms]).await })
        };
        let first = slow(200);
        let second = slow(200);
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(matches!(
            client.call::<u64>("sleep", [1]).await,
            Err(CallError::Overloaded)
        ));
        assert_eq!(first.await.unwrap().unwrap(), 200);
        assert_eq!(second.await.unwrap().unwrap(), 200);
        assert!(matches!(
            client.call::<u64>("sleep", [2_000]).await,
            Err(CallError::Timeout(_))
        ));
        assert_eq!(client.call::<u64>("sleep", [1]).await.unwrap(), 1);
        server.shutdown_and_wait().await;
    })
    .await;
}

#[tokio::test]
async fn the_client_reconnects_after_the_server_restarts_and_fails_fast_meanwhile() {
    within(LIMIT, async {
        // A short drain, so the server cuts the call in flight.
        let server = rpc_server::Server::builder()
            .drain_timeout(Duration::from_millis(200))
            .serve("127.0.0.1:0", Calc)
            .unwrap()
            .spawn();
        let addr = server.local_addr();
        let reconnects = Arc::new(AtomicUsize::new(0));
        let counted = Arc::clone(&reconnects);
        let client = Client::builder(&url(addr))
            .reconnect(
                Reconnect::default()
                    .initial_delay(Duration::from_millis(50))
                    .max_delay(Duration::from_millis(200)),
            )
            .on_reconnect(move |client| {
                let counted = Arc::clone(&counted);
                async move {
                    let _ = client.call::<()>("join", ["room"]).await;
                    counted.fetch_add(1, Ordering::SeqCst);
                }
            })
            .connect()
            .await
            .unwrap();
        let mut state = client.watch_state();

        // A call in flight when the server goes away fails at once.
        let pending = {
            let client = client.clone();
            tokio::spawn(async move { client.call::<u64>("sleep", [30_000]).await })
        };
        tokio::time::sleep(Duration::from_millis(100)).await;
        server.shutdown_and_wait().await;
        let failed = tokio::time::timeout(Duration::from_secs(5), pending).await;
        assert!(
            matches!(failed, Ok(Ok(Err(CallError::Closed)))),
            "{failed:?}"
        );
        state
            .wait_for(|s| matches!(s, ConnectionState::Reconnecting { .. }))
            .await
            .unwrap();
        // Meanwhile, calls fail fast instead of hanging.
        assert!(matches!(
            client.call::<i64>("subtract", (1, 1)).await,
            Err(CallError::Closed)
        ));

        // The server comes back on the same port.
        let again = serve(addr, Calc).expect("the port is free again").spawn();
        state
            .wait_for(|s| *s == ConnectionState::Connected)
            .await
            .unwrap();
        assert_eq!(client.call::<i64>("subtract", (3, 1)).await.unwrap(), 2);
        for _ in 0..50 {
            if reconnects.load(Ordering::SeqCst) == 1 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(
            reconnects.load(Ordering::SeqCst),
            1,
            "the reconnect hook ran once"
        );
        assert_eq!(again.group_size("room"), 1, "the hook re-joined the group");
        again.shutdown_and_wait().await;
    })
    .await;
}

#[tokio::test]
async fn keepalive_notices_a_server_that_stops_answering_pings() {
    within(LIMIT, async {
        // A WebSocket server that completes the handshake and then never
        // reads again, so it never answers a ping.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mute = tokio::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            let ws = tokio_tungstenite::accept_async(stream).await.unwrap();
            tokio::time::sleep(Duration::from_secs(30)).await;
            drop(ws);
        });
        let client = Client::builder(&url(addr))
            .ping_interval(Some(Duration::from_millis(100)))
            .max_missed_pongs(2)
            .no_reconnect()
            .connect()
            .await
            .unwrap();
        let mut state = client.watch_state();
        let dead = tokio::time::timeout(
            Duration::from_secs(5),
            state.wait_for(|s| *s == ConnectionState::Closed),
        )
        .await;
        assert!(dead.is_ok(), "the client declared the connection dead");
        assert!(matches!(
            client.call::<Value>("x", ()).await,
            Err(CallError::Closed)
        ));
        mute.abort();
    })
    .await;
}

/// A server that sends the client a response to nothing gets no answer to
/// it (answering would let the two trade errors forever); a call after it
/// is answered as usual, and is the first thing the client sends.
#[tokio::test]
async fn a_stray_response_from_the_server_is_dropped() {
    use futures_util::{SinkExt as _, StreamExt as _};
    use tokio_tungstenite::tungstenite::Message;
    within(LIMIT, async {
        let (addr, server) = one_client_server(|mut ws| async move {
            let stray =
                r#"{"jsonrpc":"2.0","error":{"code":-32600,"message":"Invalid Request"},"id":41}"#;
            ws.send(Message::text(stray)).await.unwrap();
            ws.send(Message::text(r#"{"jsonrpc":"2.0","result":1,"id":42}"#))
                .await
                .unwrap();
            ws.send(Message::text(
                r#"{"jsonrpc":"2.0","method":"nope","id":"marker"}"#,
            ))
            .await
            .unwrap();
            loop {
                match ws.next().await {
                    Some(Ok(Message::Text(text))) => {
                        return serde_json::from_str::<Value>(&text).unwrap();
                    }
                    Some(Ok(_)) => continue,
                    other => panic!("the client went away: {other:?}"),
                }
            }
        })
        .await;
        let client = Client::connect(&url(addr)).await.unwrap();
        let first = server.await.unwrap();
        assert_eq!(first["id"], "marker", "{first}");
        assert_eq!(first["error"]["code"], -32601);
        drop(client);
    })
    .await;
}

/// The server side of one WebSocket, for servers that misbehave.
type ServerSocket = tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>;

/// A WebSocket server for one client, running `script` on its socket once
/// the client has connected: its address, and the script's task.
async fn one_client_server<F, Fut>(script: F) -> (SocketAddr, tokio::task::JoinHandle<Fut::Output>)
where
    F: FnOnce(ServerSocket) -> Fut + Send + 'static,
    Fut: std::future::Future + Send,
    Fut::Output: Send + 'static,
{
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        script(tokio_tungstenite::accept_async(stream).await.unwrap()).await
    });
    (addr, task)
}

/// A server that accepts one client and then does nothing: it never reads.
async fn deaf_server() -> (SocketAddr, tokio::task::JoinHandle<()>) {
    one_client_server(|ws| async move {
        // Held open, never read.
        let _ws = ws;
        std::future::pending::<()>().await;
    })
    .await
}

/// A server that accepts TCP and never answers the handshake: connecting
/// fails after the connect timeout instead of hanging.
#[tokio::test]
async fn connecting_to_a_server_that_never_answers_times_out() {
    within(LIMIT, async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let started = std::time::Instant::now();
        let result = Client::builder(&url(addr))
            .connect_timeout(Duration::from_millis(300))
            .connect()
            .await;
        let err = result.expect_err("no handshake, no client");
        assert!(err.to_string().contains("timed out"), "{err}");
        assert!(started.elapsed() < Duration::from_secs(5));
        drop(listener);
    })
    .await;
}

/// A server that stops reading: calls fail with Timeout after the request
/// timeout (waiting for room to send included), and `close` completes.
#[tokio::test]
async fn a_server_that_stops_reading_does_not_freeze_the_client() {
    within(LIMIT, async {
        let (addr, server) = deaf_server().await;
        let client = Client::builder(&url(addr))
            .request_timeout(Duration::from_millis(500))
            .connect()
            .await
            .unwrap();
        let big = "x".repeat(64 * 1024);
        let calls = (0..500).map(|_| client.call::<Value>("echo", [&big]));
        let started = std::time::Instant::now();
        let outcomes = futures_util::future::join_all(calls).await;
        assert!(
            outcomes
                .iter()
                .all(|outcome| matches!(outcome, Err(CallError::Timeout(_)))),
            "every call timed out"
        );
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{:?}",
            started.elapsed()
        );
        tokio::time::timeout(Duration::from_secs(5), client.close())
            .await
            .expect("close completes");
        server.abort();
    })
    .await;
}

struct Counted {
    running: Arc<AtomicUsize>,
    most: Arc<AtomicUsize>,
}

#[rpc_service]
impl Counted {
    async fn slow(&self) -> u8 {
        let now = self.running.fetch_add(1, Ordering::SeqCst) + 1;
        self.most.fetch_max(now, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(50)).await;
        self.running.fetch_sub(1, Ordering::SeqCst);
        1
    }
}

/// A server that sends many calls at once gets at most
/// `max_pending_requests` of them run at a time: reading pauses at the cap.
#[tokio::test]
async fn the_servers_calls_run_at_most_the_cap_at_once() {
    use futures_util::{SinkExt as _, StreamExt as _};
    use tokio_tungstenite::tungstenite::Message;
    within(LIMIT, async {
        let (addr, server) = one_client_server(|mut ws| async move {
            for id in 0..100 {
                let call = format!(r#"{{"jsonrpc":"2.0","method":"slow","id":{id}}}"#);
                ws.send(Message::text(call)).await.unwrap();
            }
            let mut answered = 0;
            while answered < 100 {
                if let Some(Ok(Message::Text(_))) = ws.next().await {
                    answered += 1;
                }
            }
        })
        .await;
        let most = Arc::new(AtomicUsize::new(0));
        let service = Counted {
            running: Arc::new(AtomicUsize::new(0)),
            most: Arc::clone(&most),
        };
        let client = Client::builder(&url(addr))
            .max_pending_requests(8)
            .answer_server_calls(service)
            .connect()
            .await
            .unwrap();
        server.await.unwrap();
        let most = most.load(Ordering::SeqCst);
        assert!((1..=8).contains(&most), "{most} ran at once");
        client.close().await;
    })
    .await;
}

/// Counts the `log` notifications it hears.
struct Logs(Arc<AtomicUsize>);

#[rpc_service]
impl Logs {
    #[rpc(notification)]
    fn log(&self, line: String) {
        let _ = line;
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// A program that connects, notifies and ends at once (its runtime
/// dropped, as returning from `main` does) loses nothing: `notify` returns
/// once the frame is written. (It returned once queued: 20 such programs
/// delivered 6 to 15 of 20.)
#[test]
fn a_notification_sent_just_before_the_program_ends_arrives() {
    let heard = Arc::new(AtomicUsize::new(0));
    let server_runtime = tokio::runtime::Runtime::new().unwrap();
    let server = server_runtime.block_on(async {
        serve("127.0.0.1:0", Logs(Arc::clone(&heard)))
            .unwrap()
            .spawn()
    });
    let url = url(server.local_addr());
    for n in 0..20 {
        let program = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        program.block_on(async {
            let client = Client::connect(&url).await.unwrap();
            client.notify("log", [format!("line {n}")]).await.unwrap();
            let batch = Batch::new().notify("log", ["in a batch"]).unwrap();
            client.batch(batch).await.unwrap();
        });
        // The end of `main`: everything of the program's is dropped.
        drop(program);
    }
    server_runtime.block_on(async {
        for _ in 0..500 {
            if heard.load(Ordering::SeqCst) == 40 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    });
    assert_eq!(
        heard.load(Ordering::SeqCst),
        40,
        "every notification, single and in a batch"
    );
    server_runtime.block_on(server.shutdown_and_wait());
}
