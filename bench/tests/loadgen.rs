//! The load generator against each server, in this process, for a moment:
//! every payload is answered and checked, and a wrong answer fails the run.

use std::time::Duration;

use rpc_bench::idle;
use rpc_bench::load::{self, Length, Load};
use rpc_bench::payload::{Expect, Payload};
use rpc_server::rpc_service;

/// The `bench_server` example's service.
struct Bench;

#[rpc_service]
impl Bench {
    async fn add(&self, a: u64, b: u64) -> u64 {
        a.wrapping_add(b)
    }

    async fn echo(&self, s: String) -> String {
        s
    }
}

async fn within<T>(future: impl Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(60), future)
        .await
        .expect("the test took too long")
}

fn short(url: &str, payload: Payload, expect: Expect) -> Load {
    Load {
        url: url.to_owned(),
        connections: 2,
        in_flight: 4,
        payload,
        expect,
        length: Length::Timed {
            warmup: Duration::from_millis(20),
            duration: Duration::from_millis(150),
        },
    }
}

async fn ours() -> String {
    // Runs until the test's runtime ends.
    let server = rpc_server::serve("127.0.0.1:0", Bench).expect("bound");
    format!("ws://{}", server.spawn().local_addr())
}

async fn echo() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bound");
    let addr = listener.local_addr().expect("an address");
    tokio::spawn(rpc_bench::servers::echo(listener, 4096));
    format!("ws://{addr}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_payload_is_answered_and_checked_on_every_server() {
    within(async {
        let (peer_addr, peer) = rpc_bench::servers::jsonrpsee("127.0.0.1:0")
            .await
            .expect("jsonrpsee started");
        let servers = [
            (ours().await, Expect::Rpc),
            (echo().await, Expect::Echo),
            (format!("ws://{peer_addr}"), Expect::Rpc),
        ];
        for (url, expect) in &servers {
            for payload in Payload::ALL {
                let measured = load::run(&short(url, payload, *expect))
                    .await
                    .unwrap_or_else(|err| panic!("{payload:?} on {url}: {err}"));
                assert!(
                    measured.round_trips > 0,
                    "{payload:?} on {url}: nothing measured"
                );
                assert!(measured.p50_us <= measured.p99_us);
            }
        }
        drop(peer);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_answers_wrongly_fails_the_run() {
    within(async {
        // The echo server sends requests back: not JSON-RPC responses.
        let url = echo().await;
        let err = load::run(&short(&url, Payload::Add, Expect::Rpc))
            .await
            .expect_err("an echo is not a response");
        assert!(err.contains("add"), "{err}");
    })
    .await;
}

/// A counted load makes exactly its round trips on every connection, with
/// fewer than `in_flight` left for the last turn.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_counted_load_makes_exactly_its_round_trips() {
    within(async {
        let url = ours().await;
        let load = Load {
            connections: 3,
            in_flight: 8,
            length: Length::RoundTrips(1_001),
            ..short(&url, Payload::Add, Expect::Rpc)
        };
        let measured = load::run(&load).await.expect("ran");
        assert_eq!(measured.round_trips, 3 * 1_001);
        assert!(measured.seconds > 0.0);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_connections_are_measured() {
    within(async {
        let url = ours().await;
        let memory = idle::measure(&url, std::process::id(), 20, Payload::Add, Expect::Rpc)
            .await
            .expect("measured");
        assert_eq!(memory.connections, 20);
        assert!(memory.rss_before_kib > 0 && memory.rss_after_kib > 0);
    })
    .await;
}
