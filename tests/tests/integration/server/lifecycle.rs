//! Many connections at once, and graceful shutdown under load: every
//! request the server received is answered before its connection closes.

use std::future::IntoFuture as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use rpc_server::{Server, rpc_service, serve};
use serde_json::json;
use tokio::sync::oneshot;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use ws::{Client, Received, within};

use crate::common::ws;

#[derive(Clone, Default)]
struct Counting {
    received: Arc<AtomicUsize>,
}

#[rpc_service]
impl Counting {
    async fn work(&self, ms: u64) -> u64 {
        self.received.fetch_add(1, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(ms)).await;
        ms
    }

    async fn add(&self, a: i64, b: i64) -> i64 {
        a + b
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_concurrent_connections_each_make_calls() {
    within(Duration::from_secs(120), async {
        let server = serve("127.0.0.1:0", Counting::default()).unwrap().spawn();
        let addr = server.local_addr();
        let clients: Vec<_> = (0..1_000)
            .map(|n: i64| {
                tokio::spawn(async move {
                    let mut client = Client::connect(addr).await;
                    for call in 0..3 {
                        let reply = client.call("add", json!([n, call]), call as u64).await;
                        assert_eq!(reply["result"], n + call);
                    }
                    client
                })
            })
            .collect();
        let mut open = Vec::new();
        for client in clients {
            open.push(client.await.expect("client task"));
        }
        // All 1,000 are still open and served at once.
        for (n, client) in open.iter_mut().enumerate().step_by(97) {
            assert_eq!(client.call("add", json!([n, 1]), 9).await["result"], n + 1);
        }
        drop(open);
        server.shutdown_and_wait().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_under_load_answers_every_request_received() {
    within(Duration::from_secs(60), async {
        let service = Counting::default();
        let received = Arc::clone(&service.received);
        let server = serve("127.0.0.1:0", service).unwrap().spawn();
        let addr = server.local_addr();
        let (ready_tx, mut ready_rx) = tokio::sync::mpsc::channel(100);
        let mut clients = Vec::new();
        for n in 0..100u64 {
            let ready_tx = ready_tx.clone();
            clients.push(tokio::spawn(async move {
                let mut client = Client::connect(addr).await;
                for id in 0..20u64 {
                    let ms = (n * 7 + id * 13) % 300;
                    client
                        .send(
                            &json!({"jsonrpc":"2.0","method":"work","params":[ms],"id":id})
                                .to_string(),
                        )
                        .await;
                }
                let _ = ready_tx.send(()).await;
                // Count replies until the server's close frame.
                let mut answered = 0;
                loop {
                    match client.receive().await {
                        Received::Text(text) => {
                            let reply: serde_json::Value = serde_json::from_str(&text).unwrap();
                            assert!(reply.get("result").is_some(), "{reply}");
                            answered += 1;
                        }
                        Received::Closed(frame) => {
                            let frame = frame.expect("a close frame");
                            assert_eq!(frame.code, CloseCode::Away);
                            return answered;
                        }
                    }
                }
            }));
        }
        drop(ready_tx);
        for _ in 0..100 {
            ready_rx.recv().await;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        server.shutdown();
        let mut answered = 0;
        for client in clients {
            answered += client.await.expect("client task");
        }
        server.stopped().await;
        let received = received.load(Ordering::SeqCst);
        println!(
            "shutdown under load: 2000 sent, {received} received by the server, {answered} answered"
        );
        assert!(received > 0);
        assert_eq!(
            answered, received,
            "every request the server received was answered"
        );
    })
    .await;
}

#[tokio::test]
async fn a_shutdown_signal_stops_the_server_and_refuses_new_connections() {
    within(Duration::from_secs(30), async {
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let server = Server::builder()
            .serve("127.0.0.1:0", Counting::default())
            .unwrap()
            .with_graceful_shutdown(async {
                let _ = stop_rx.await;
            });
        let addr = server.local_addr();
        let handle = server.handle();
        let running = tokio::spawn(server.into_future());
        let mut client = Client::connect(addr).await;
        assert_eq!(client.call("add", json!([1, 2]), 1).await["result"], 3);
        stop_tx.send(()).unwrap();
        assert_eq!(client.closed().await.map(|f| f.code), Some(CloseCode::Away));
        handle.stopped().await;
        running.await.unwrap().unwrap();
        assert!(
            tokio_tungstenite::connect_async(format!("ws://{addr}"))
                .await
                .is_err()
        );
    })
    .await;
}

#[tokio::test]
async fn a_listener_the_caller_bound_is_served() {
    within(Duration::from_secs(30), async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = Server::builder()
            .serve_on(listener, Counting::default())
            .unwrap()
            .spawn();
        assert_eq!(server.local_addr(), addr);
        let mut client = Client::connect(addr).await;
        assert_eq!(client.call("add", json!([2, 3]), 1).await["result"], 5);
        server.shutdown_and_wait().await;
    })
    .await;
}

#[tokio::test]
async fn a_port_in_use_is_reported_by_serve() {
    within(Duration::from_secs(30), async {
        let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = taken.local_addr().unwrap();
        let error = serve(addr, Counting::default()).expect_err("the port is taken");
        assert_eq!(error.kind(), std::io::ErrorKind::AddrInUse);
        let error = Server::builder()
            .serve(addr, Counting::default())
            .expect_err("the port is taken");
        assert_eq!(error.kind(), std::io::ErrorKind::AddrInUse);
    })
    .await;
}
