//! Every server limit and timeout tripped over a real socket, with that
//! connection (where it survives) and the others carrying on.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use rpc_server::config::Limits;
use rpc_server::{Server, ServerHandle, rpc_service};
use serde_json::json;
use tokio::io::AsyncReadExt as _;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use ws::{Client, within};

use crate::common::fixtures::LIMIT;
use crate::common::http;
use crate::common::ws;

#[derive(Clone, Default)]
struct Svc {
    started: Arc<AtomicUsize>,
}

#[rpc_service]
impl Svc {
    async fn add(&self, a: i64, b: i64) -> i64 {
        a + b
    }

    async fn sleep(&self, ms: u64) -> u64 {
        self.started.fetch_add(1, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(ms)).await;
        ms
    }

    #[rpc(timeout = "100ms")]
    async fn short_fuse(&self) -> u8 {
        tokio::time::sleep(Duration::from_secs(10)).await;
        1
    }

    fn blob(&self, len: usize) -> String {
        self.started.fetch_add(1, Ordering::SeqCst);
        "x".repeat(len)
    }

    fn panics(&self) -> u8 {
        panic!("bug")
    }

    /// Costly: twice, then once a minute.
    #[rpc(rate = "1/m, burst 2")]
    fn export(&self) -> u8 {
        1
    }
}

fn start(builder: rpc_server::ServerBuilder, svc: Svc) -> ServerHandle {
    builder.serve("127.0.0.1:0", svc).expect("bind").spawn()
}

/// A second connection that must keep working whatever happens to the first.
async fn bystander_still_served(server: &ServerHandle) {
    let mut other = Client::connect(server.local_addr()).await;
    assert_eq!(other.call("add", json!([40, 2]), 99).await["result"], 42);
}

#[tokio::test]
async fn oversized_message_is_answered_and_the_connection_stays_open() {
    within(LIMIT, async {
        let limits = Limits::default().with_max_message_size(1024);
        let server = start(Server::builder().limits(limits), Svc::default());
        let mut client = Client::connect(server.local_addr()).await;
        let big = format!(
            r#"{{"jsonrpc":"2.0","method":"add","params":[1,2],"id":1,"pad":"{}"}}"#,
            "x".repeat(2000)
        );
        client.send(&big).await;
        let reply = client.receive_json().await;
        assert_eq!(reply["error"]["code"], -32001);
        assert_eq!(client.call("add", json!([1, 2]), 2).await["result"], 3);
        bystander_still_served(&server).await;
        server.shutdown_and_wait().await;
    })
    .await;
}

#[tokio::test]
async fn message_beyond_the_hard_cap_closes_with_1009() {
    within(LIMIT, async {
        let limits = Limits::default().with_max_message_size(1024);
        let server = start(
            Server::builder().limits(limits).max_frame_size(64 * 1024),
            Svc::default(),
        );
        let mut client = Client::connect(server.local_addr()).await;
        let huge = format!(
            r#"{{"jsonrpc":"2.0","method":"add","pad":"{}"}}"#,
            "x".repeat(100 * 1024)
        );
        client.send(&huge).await;
        let frame = client.closed().await.expect("a close frame");
        assert_eq!(frame.code, CloseCode::Size);
        bystander_still_served(&server).await;
        server.shutdown_and_wait().await;
    })
    .await;
}

#[tokio::test]
async fn protocol_limits_apply_over_the_wire() {
    within(LIMIT, async {
        let limits = Limits::default().with_max_depth(3).with_max_batch_size(2);
        let server = start(Server::builder().limits(limits), Svc::default());
        let mut client = Client::connect(server.local_addr()).await;
        let reply = client.call("add", json!([[[[1]]], 2]), 1).await;
        assert_eq!(reply["error"]["code"], -32001);
        let element = json!({"jsonrpc":"2.0","method":"add","params":[1,2],"id":1});
        client
            .send(&json!([element, element, element]).to_string())
            .await;
        assert_eq!(client.receive_json().await["error"]["code"], -32001);
        assert_eq!(client.call("add", json!([1, 2]), 3).await["result"], 3);
        server.shutdown_and_wait().await;
    })
    .await;
}

#[tokio::test]
async fn one_request_past_max_pending_is_server_overloaded() {
    within(LIMIT, async {
        let server = start(Server::builder().max_pending_requests(2), Svc::default());
        let mut client = Client::connect(server.local_addr()).await;
        for id in 1..=2 {
            client
                .send(&json!({"jsonrpc":"2.0","method":"sleep","params":[300],"id":id}).to_string())
                .await;
        }
        client
            .send(r#"{"jsonrpc":"2.0","method":"add","params":[1,2],"id":3}"#)
            .await;
        let overloaded = client.receive_json().await;
        assert_eq!(overloaded["error"]["code"], -32003);
        assert_eq!(overloaded["id"], 3);
        // The two running ones finish, and then there is room again.
        for _ in 0..2 {
            assert_eq!(client.receive_json().await["result"], 300);
        }
        assert_eq!(client.call("add", json!([1, 2]), 4).await["result"], 3);
        bystander_still_served(&server).await;
        server.shutdown_and_wait().await;
    })
    .await;
}

/// The cap counts calls, not messages: the calls of one batch past it are
/// answered SERVER_OVERLOADED instead of running.
#[tokio::test]
async fn a_batch_past_max_pending_has_its_extra_calls_overloaded() {
    within(LIMIT, async {
        let svc = Svc::default();
        let started = Arc::clone(&svc.started);
        let server = start(Server::builder().max_pending_requests(4), svc);
        let mut client = Client::connect(server.local_addr()).await;
        let batch: Vec<_> = (0..10)
            .map(|id| json!({"jsonrpc": "2.0", "method": "sleep", "params": [200], "id": id}))
            .collect();
        client
            .send(&serde_json::Value::Array(batch).to_string())
            .await;
        let replies = client.receive_json().await;
        let replies = replies.as_array().expect("a batch reply");
        let ran = replies.iter().filter(|r| r["result"] == 200).count();
        let overloaded = replies
            .iter()
            .filter(|r| r["error"]["code"] == -32003)
            .count();
        assert_eq!((ran, overloaded), (4, 6), "{replies:?}");
        assert_eq!(started.load(Ordering::SeqCst), 4, "the others never ran");
        // The slots come back: the next call runs.
        assert_eq!(client.call("add", json!([1, 1]), 99).await["result"], 2);
        server.shutdown_and_wait().await;
    })
    .await;
}

#[tokio::test]
async fn one_connection_past_max_connections_is_refused_with_503() {
    within(LIMIT, async {
        let server = start(Server::builder().max_connections(2), Svc::default());
        let url = format!("ws://{}", server.local_addr());
        let mut first = Client::connect(server.local_addr()).await;
        let second = Client::connect(server.local_addr()).await;
        match tokio_tungstenite::connect_async(&url).await {
            Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
                assert_eq!(response.status(), 503);
            }
            other => panic!("expected a 503 refusal, got {other:?}"),
        }
        // The served connections are unaffected, and a slot frees on close.
        assert_eq!(first.call("add", json!([1, 2]), 1).await["result"], 3);
        drop(second);
        let mut third = None;
        for _ in 0..50 {
            if let Ok((ws, _)) = tokio_tungstenite::connect_async(&url).await {
                third = Some(Client { ws });
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let mut third = third.expect("a slot frees when a connection closes");
        assert_eq!(third.call("add", json!([2, 2]), 1).await["result"], 4);
        server.shutdown_and_wait().await;
    })
    .await;
}

#[tokio::test]
async fn method_timeout_and_default_timeout_are_request_timeout() {
    within(LIMIT, async {
        let server = start(
            Server::builder().request_timeout(Some(Duration::from_millis(150))),
            Svc::default(),
        );
        let mut client = Client::connect(server.local_addr()).await;
        let reply = client.call("short_fuse", json!([]), 1).await;
        assert_eq!(reply["error"]["code"], -32002);
        let reply = client.call("sleep", json!([5_000]), 2).await;
        assert_eq!(reply["error"]["code"], -32002);
        assert_eq!(client.call("sleep", json!([1]), 3).await["result"], 1);
        bystander_still_served(&server).await;
        server.shutdown_and_wait().await;
    })
    .await;
}

#[tokio::test]
async fn a_panicking_method_is_an_internal_error_and_the_connection_carries_on() {
    within(LIMIT, async {
        let server = start(Server::builder(), Svc::default());
        let mut client = Client::connect(server.local_addr()).await;
        let reply = client.call("panics", json!([]), 1).await;
        assert_eq!(
            reply["error"],
            json!({"code": -32603, "message": "Internal error"})
        );
        assert_eq!(client.call("add", json!([1, 2]), 2).await["result"], 3);
        server.shutdown_and_wait().await;
    })
    .await;
}

#[tokio::test]
async fn a_silent_tcp_client_is_cut_off_by_the_handshake_timeout() {
    within(LIMIT, async {
        let server = start(
            Server::builder().handshake_timeout(Duration::from_millis(200)),
            Svc::default(),
        );
        let mut silent = tokio::net::TcpStream::connect(server.local_addr())
            .await
            .unwrap();
        let mut buf = [0u8; 16];
        let read = tokio::time::timeout(Duration::from_secs(5), silent.read(&mut buf))
            .await
            .expect("the server hangs up");
        assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");
        bystander_still_served(&server).await;
        server.shutdown_and_wait().await;
    })
    .await;
}

#[tokio::test]
async fn a_client_that_never_answers_pings_is_closed() {
    within(LIMIT, async {
        let server = start(
            Server::builder()
                .ping_interval(Some(Duration::from_millis(100)))
                .max_missed_pongs(2),
            Svc::default(),
        );
        let mut deaf = Client::connect(server.local_addr()).await;
        // Not reading means not answering pings.
        tokio::time::sleep(Duration::from_millis(600)).await;
        let frame = deaf.closed().await.expect("a close frame");
        assert_eq!(frame.code, CloseCode::Away);
        bystander_still_served(&server).await;
        server.shutdown_and_wait().await;
    })
    .await;
}

/// Only a pong to our ping counts: a client that sends pongs of its own
/// accord but never reads is found dead all the same.
#[tokio::test]
async fn unsolicited_pongs_do_not_keep_a_deaf_client_alive() {
    use futures_util::SinkExt as _;
    use tokio_tungstenite::tungstenite::{Bytes, Message};
    within(LIMIT, async {
        let (ended, mut reason) = tokio::sync::mpsc::unbounded_channel();
        let server = start(
            Server::builder()
                .ping_interval(Some(Duration::from_millis(100)))
                .max_missed_pongs(2)
                .on_disconnect(move |_, why| {
                    let _ = ended.send(why);
                }),
            Svc::default(),
        );
        let client = Client::connect(server.local_addr()).await;
        let (mut sink, _never_read) = futures_util::StreamExt::split(client.ws);
        let pretending = tokio::spawn(async move {
            loop {
                if sink
                    .send(Message::Pong(Bytes::from_static(b"alive")))
                    .await
                    .is_err()
                {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(30)).await;
            }
        });
        let why = tokio::time::timeout(Duration::from_secs(5), reason.recv()).await;
        assert_eq!(
            why.expect("closed in time"),
            Some(rpc_server::connect::DisconnectReason::Unresponsive)
        );
        pretending.abort();
        server.shutdown_and_wait().await;
    })
    .await;
}

#[tokio::test]
async fn a_client_that_answers_pings_stays_connected() {
    within(LIMIT, async {
        let server = start(
            Server::builder()
                .ping_interval(Some(Duration::from_millis(50)))
                .max_missed_pongs(1),
            Svc::default(),
        );
        let mut client = Client::connect(server.local_addr()).await;
        // Each call reads, and reading answers the pings that came in.
        for id in 0..10 {
            assert_eq!(client.call("sleep", json!([40]), id).await["result"], 40);
        }
        server.shutdown_and_wait().await;
    })
    .await;
}

#[tokio::test]
async fn an_idle_connection_is_closed() {
    within(LIMIT, async {
        let server = start(
            Server::builder().idle_timeout(Some(Duration::from_millis(200))),
            Svc::default(),
        );
        let mut idle = Client::connect(server.local_addr()).await;
        let frame = idle.closed().await.expect("a close frame");
        assert_eq!(frame.code, CloseCode::Normal);
        assert_eq!(frame.reason.as_str(), "idle timeout");
        server.shutdown_and_wait().await;
    })
    .await;
}

#[tokio::test]
async fn answering_the_servers_pings_does_not_keep_a_connection_from_being_idle() {
    within(LIMIT, async {
        // Pings every 50 ms, each answered by the client's WebSocket library
        // as it reads; the connection still sends no message.
        let server = start(
            Server::builder()
                .ping_interval(Some(Duration::from_millis(50)))
                .idle_timeout(Some(Duration::from_millis(300))),
            Svc::default(),
        );
        let started = std::time::Instant::now();
        let mut idle = Client::connect(server.local_addr()).await;
        let frame = idle.closed().await.expect("a close frame");
        assert_eq!(frame.reason.as_str(), "idle timeout");
        assert!(started.elapsed() < Duration::from_secs(5));
        // A message does count: calls every 100 ms keep another one open.
        let mut busy = Client::connect(server.local_addr()).await;
        for id in 0..8 {
            tokio::time::sleep(Duration::from_millis(100)).await;
            assert_eq!(busy.call("sleep", json!([1]), id).await["result"], 1);
        }
        server.shutdown_and_wait().await;
    })
    .await;
}

#[tokio::test]
async fn max_connection_age_closes_after_answering_what_is_in_flight() {
    within(LIMIT, async {
        let server = start(
            Server::builder().max_connection_age(Some(Duration::from_millis(200))),
            Svc::default(),
        );
        let mut client = Client::connect(server.local_addr()).await;
        client
            .send(r#"{"jsonrpc":"2.0","method":"sleep","params":[500],"id":1}"#)
            .await;
        assert_eq!(client.receive_json().await["result"], 500);
        let frame = client.closed().await.expect("a close frame");
        assert_eq!(frame.code, CloseCode::Normal);
        server.shutdown_and_wait().await;
    })
    .await;
}

/// The error of a rate-limited reply: which limit, and how long to wait.
fn rate_limited(reply: &serde_json::Value) -> (String, Duration) {
    assert_eq!(reply["error"]["code"], -32004, "{reply}");
    assert_eq!(reply["error"]["message"], "Rate limited");
    let data = &reply["error"]["data"];
    let wait = data["retry_after_ms"].as_u64().expect("retry_after_ms");
    (
        data["limit"].as_str().unwrap().to_owned(),
        Duration::from_millis(wait),
    )
}

/// `rpc.discover` answers with the whole document (here about 50 times the
/// request): it takes a token of the connection's rate like any call.
#[tokio::test]
async fn discovery_takes_rate_tokens_like_any_call() {
    within(LIMIT, async {
        let builder = Server::builder()
            .rate_limit(Some(rpc_server::config::Rate::per_second(2).with_burst(2)));
        let server = start(builder, Svc::default());
        let mut client = Client::connect(server.local_addr()).await;
        let batch: Vec<_> = (0..20)
            .map(|id| json!({"jsonrpc": "2.0", "method": "rpc.discover", "id": id}))
            .collect();
        client
            .send(&serde_json::Value::Array(batch).to_string())
            .await;
        let replies = client.receive_json().await;
        let replies = replies.as_array().expect("a batch reply");
        let answered = replies.iter().filter(|r| r.get("result").is_some()).count();
        assert!((2..=3).contains(&answered), "{answered} documents sent");
        let refused = replies.iter().find(|r| r.get("error").is_some()).unwrap();
        assert_eq!(rate_limited(refused).0, "connection");
        server.shutdown_and_wait().await;
    })
    .await;
}

#[tokio::test]
async fn calls_past_the_rate_limit_are_refused_with_retry_data_and_the_connection_carries_on() {
    within(LIMIT, async {
        let builder = Server::builder()
            .rate_limit(Some(rpc_server::config::Rate::per_second(10).with_burst(5)));
        let server = start(builder, Svc::default());
        let mut client = Client::connect(server.local_addr()).await;

        // A flood of 50 calls in one batch: the burst passes, the rest are
        // refused (a batch takes a token per call).
        let batch: Vec<_> = (0..50)
            .map(|id| json!({"jsonrpc": "2.0", "method": "add", "params": [id, 1], "id": id}))
            .collect();
        client
            .send(&serde_json::Value::Array(batch).to_string())
            .await;
        let replies = client.receive_json().await;
        let replies = replies.as_array().expect("a batch reply");
        assert_eq!(replies.len(), 50);
        let passed = replies.iter().filter(|r| r.get("result").is_some()).count();
        // 5 at once, and perhaps one more refilled while the batch ran.
        assert!((5..=6).contains(&passed), "{passed} passed");
        let refused = replies.iter().find(|r| r.get("error").is_some()).unwrap();
        let (limit, wait) = rate_limited(refused);
        assert_eq!(limit, "connection");
        assert!(
            wait > Duration::ZERO && wait <= Duration::from_millis(100),
            "{wait:?}"
        );

        // Another connection has buckets of its own.
        bystander_still_served(&server).await;
        // Waiting as told is enough.
        let again = client.call("add", json!([1, 1]), 100).await;
        let (_, wait) = rate_limited(&again);
        tokio::time::sleep(wait).await;
        assert_eq!(client.call("add", json!([2, 2]), 101).await["result"], 4);
        server.shutdown_and_wait().await;
    })
    .await;
}

#[tokio::test]
async fn a_method_with_a_rate_of_its_own_is_limited_apart() {
    within(LIMIT, async {
        let server = start(Server::builder(), Svc::default());
        let mut client = Client::connect(server.local_addr()).await;
        assert_eq!(client.call("export", json!([]), 1).await["result"], 1);
        assert_eq!(client.call("export", json!([]), 2).await["result"], 1);
        let (limit, wait) = rate_limited(&client.call("export", json!([]), 3).await);
        assert_eq!(limit, "export");
        assert!(wait > Duration::from_secs(50), "{wait:?}");
        // The other methods are not limited.
        for id in 4..20 {
            assert_eq!(client.call("add", json!([1, 1]), id).await["result"], 2);
        }
        let mut other = Client::connect(server.local_addr()).await;
        assert_eq!(other.call("export", json!([]), 1).await["result"], 1);
        server.shutdown_and_wait().await;
    })
    .await;
}

#[tokio::test]
async fn the_http_requests_of_one_address_share_a_rate() {
    within(LIMIT, async {
        let builder = Server::builder().rate_limit(Some(rpc_server::config::Rate::new(
            3,
            Duration::from_secs(60),
        )));
        let server = start(builder, Svc::default());
        let addr = server.local_addr();
        let call = r#"{"jsonrpc":"2.0","method":"add","params":[1,2],"id":1}"#;
        for _ in 0..3 {
            assert_eq!(http::post(addr, call).await.json()["result"], 3);
        }
        let refused = http::post(addr, call).await;
        assert_eq!(refused.status, 200, "a JSON-RPC error, not an HTTP one");
        let (limit, _) = rate_limited(&refused.json());
        assert_eq!(limit, "connection");
        server.shutdown_and_wait().await;
    })
    .await;
}
