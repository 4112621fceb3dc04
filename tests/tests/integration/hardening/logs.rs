//! What reaches the logs: at every level, with `log_params` off (the
//! default), no token (from any of the places a client can put one) and no
//! params, whether the call succeeds, fails or is refused.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rpc_server::connect::{Admission, Rejection};
use rpc_server::{Server, rpc_service};
use serde_json::json;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use ws::{Client, within};

use crate::common::http;
use crate::common::ws;

const TOKEN: &str = "tok-7f3a9c-SECRET";
const WRONG_TOKEN: &str = "tok-0000-WRONG";
const PARAM: &str = "param-5e1d-PRIVATE";

struct Svc;

#[rpc_service]
impl Svc {
    fn store(&self, secret: String) -> usize {
        secret.len()
    }

    fn add(&self, a: i64, b: i64) -> i64 {
        a + b
    }
}

/// Everything the subscriber writes.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Capture {
    /// Captures what this thread logs at `level` and above, until the
    /// guard is dropped.
    fn start(level: tracing::Level) -> (Self, tracing::subscriber::DefaultGuard) {
        let logs = Self::default();
        let writer = logs.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(level)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        (logs, tracing::subscriber::set_default(subscriber))
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

/// A WebSocket handshake to `url` with `header`, if any.
async fn connect(url: &str, header: Option<(&'static str, String)>) -> Result<Client, u16> {
    let mut request = url.into_client_request().unwrap();
    if let Some((name, value)) = header {
        request.headers_mut().insert(name, value.parse().unwrap());
    }
    match tokio_tungstenite::connect_async(request).await {
        Ok((ws, _)) => Ok(Client { ws }),
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            Err(response.status().as_u16())
        }
        Err(err) => panic!("{err}"),
    }
}

#[tokio::test]
async fn tokens_and_params_never_reach_the_logs() {
    // This test's thread runs the server too (a current-thread runtime).
    let (logs, _capturing) = Capture::start(tracing::Level::TRACE);

    within(Duration::from_secs(30), async {
        let server = Server::builder()
            .on_connect(|request| async move {
                match request.token() {
                    Some(TOKEN) => Ok(Admission::new()),
                    _ => Err(Rejection::unauthorized("a valid token is required")),
                }
            })
            .serve("127.0.0.1:0", Svc)
            .unwrap()
            .spawn();
        let addr = server.local_addr();
        let url = format!("ws://{addr}/");

        let ways = [
            (
                url.clone(),
                Some(("authorization", format!("Bearer {TOKEN}"))),
            ),
            (
                url.clone(),
                Some(("sec-websocket-protocol", format!("bearer, {TOKEN}"))),
            ),
            (format!("{url}?access_token={TOKEN}"), None),
        ];
        for (url, header) in ways {
            let mut client = connect(&url, header).await.expect("admitted");
            assert_eq!(
                client.call("store", json!([PARAM]), 1).await["result"],
                PARAM.len()
            );
            // Wrong params, an unknown method, a notification: failures
            // are logged, their params are not.
            let failed = client.call("add", json!([PARAM, 1]), 2).await;
            assert_eq!(failed["error"]["code"], -32602);
            let unknown = client.call("nope", json!({"secret": PARAM}), 3).await;
            assert_eq!(unknown["error"]["code"], -32601);
            client
                .send(&json!({"jsonrpc": "2.0", "method": "store", "params": [PARAM]}).to_string())
                .await;
        }
        let refused = connect(
            &url,
            Some(("authorization", format!("Bearer {WRONG_TOKEN}"))),
        )
        .await;
        assert_eq!(refused.err(), Some(401));
        let refused = connect(&format!("{url}?access_token={WRONG_TOKEN}"), None).await;
        assert_eq!(refused.err(), Some(401));

        let body =
            json!({"jsonrpc": "2.0", "method": "store", "params": [PARAM], "id": 1}).to_string();
        let bearer = format!("Bearer {TOKEN}");
        let headers = [
            ("content-type", "application/json"),
            ("authorization", bearer.as_str()),
        ];
        let answered = http::request(addr, "POST", "/", &headers, &body).await;
        assert_eq!(answered.json()["result"], PARAM.len());
        server.shutdown_and_wait().await;
    })
    .await;

    let text = logs.text();
    assert!(
        text.contains("rpc_call"),
        "the capture sees the server's events and spans:\n{text}"
    );
    for secret in [TOKEN, WRONG_TOKEN, PARAM] {
        let leaks: Vec<&str> = text.lines().filter(|line| line.contains(secret)).collect();
        assert!(
            leaks.is_empty(),
            "{secret} is in the logs:\n{}",
            leaks.join("\n")
        );
    }
}

/// A flood of refusals is one line per kind, at the level that says whose
/// problem it is, with the client and the reason; the rest are counted in
/// the next line of that kind (refusals.rs's unit test shows the count).
#[tokio::test]
async fn a_flood_of_refusals_is_logged_once_per_kind() {
    let (logs, _capturing) = Capture::start(tracing::Level::INFO);

    within(Duration::from_secs(30), async {
        let server = Server::builder()
            .max_connections(1)
            .allowed_origins(["https://app.example"])
            .serve("127.0.0.1:0", Svc)
            .unwrap()
            .spawn();
        let url = format!("ws://{}/", server.local_addr());
        for _ in 0..10 {
            let evil = Some(("origin", "https://evil.example".to_owned()));
            assert_eq!(connect(&url, evil).await.err(), Some(403));
        }
        let _held = connect(&url, None).await.expect("the one slot");
        for _ in 0..20 {
            assert_eq!(connect(&url, None).await.err(), Some(503));
        }
        server.shutdown_and_wait().await;
    })
    .await;

    let text = logs.text();
    let lines = |what: &str| -> Vec<&str> { text.lines().filter(|l| l.contains(what)).collect() };
    let full = lines("the server is at max_connections");
    assert_eq!(full.len(), 1, "one line for 20 refusals:\n{text}");
    assert!(
        full[0].contains("WARN") && full[0].contains("client=127.0.0.1"),
        "{}",
        full[0]
    );
    assert!(full[0].contains("1 connections open"), "{}", full[0]);
    let origin = lines("its origin is not allowed");
    assert_eq!(origin.len(), 1, "one line for 10 refusals:\n{text}");
    assert!(
        origin[0].contains("INFO") && origin[0].contains("https://evil.example"),
        "{}",
        origin[0]
    );
}

struct Boom;

#[rpc_service]
impl Boom {
    fn boom(&self) -> u32 {
        panic!("kaboom")
    }
}

/// A method that panics on every call is logged once, with the panic's
/// message, then stays quiet (the next line, 10 s on, counts the rest).
#[tokio::test]
async fn a_method_that_panics_on_every_call_is_logged_once() {
    let (logs, _capturing) = Capture::start(tracing::Level::INFO);

    let client = rpc_server::testing::TestClient::new(Boom);
    for _ in 0..50 {
        let error = client.call::<u32>("boom", ()).await.unwrap_err();
        assert_eq!(error.code().code(), -32603);
    }
    let text = logs.text();
    let failed: Vec<&str> = text.lines().filter(|l| l.contains("call failed")).collect();
    assert_eq!(failed.len(), 1, "one line for 50 panics:\n{text}");
    assert!(
        failed[0].contains("ERROR") && failed[0].contains("`boom` panicked: kaboom"),
        "{}",
        failed[0]
    );
}
