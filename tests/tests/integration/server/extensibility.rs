//! Connection context, on_connect authentication, permissions, middleware
//! and lifecycle hooks, over real sockets.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use rpc_server::connect::{ConnectionInfo, DisconnectReason};
use rpc_server::hooks::Hooks;
use rpc_server::middleware::{Call, MethodFuture, Middleware, Next, SerializedResult};
use rpc_server::{ErrorCode, RpcContext, RpcError, Server, ServerHandle, rpc_service};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use ws::{Client, within};

use crate::common::fixtures::{LIMIT, User, authenticating};
use crate::common::ws;

#[derive(Debug, Clone, PartialEq)]

struct Api;

#[rpc_service]
impl Api {
    fn whoami(&self, ctx: &RpcContext) -> Value {
        json!({
            "user": ctx.extensions().get::<User>().map(|u| u.0.clone()),
            "path": ctx.path(),
            "query": ctx.query(),
            "agent": ctx.headers().get("x-agent").and_then(|v| v.to_str().ok()),
            "header_names": ctx.headers().keys().map(|name| name.as_str()).collect::<Vec<_>>(),
            "cookie": ctx.cookie("theme"),
            "subprotocol": ctx.subprotocol(),
            "connection": ctx.connection_id(),
            "method": ctx.method(),
            "id": ctx.id().map(|id| id.as_raw().to_owned()),
        })
    }

    #[rpc(permission = "reports.export")]
    fn export(&self) -> &'static str {
        "the report"
    }

    #[rpc(permission = "reports.export", permission = "admin")]
    fn purge(&self) -> &'static str {
        "purged"
    }

    fn add(&self, a: i64, b: i64) -> i64 {
        a + b
    }

    #[rpc(notification)]
    fn note(&self) {}

    /// Never answers.
    async fn hang(&self) {
        std::future::pending::<()>().await;
    }
}

async fn connect_with(server: &ServerHandle, token: &str, path: &str) -> Client {
    let url = format!("ws://{}{path}", server.local_addr());
    let mut request = url.into_client_request().unwrap();
    let headers = request.headers_mut();
    headers.insert("authorization", format!("Bearer {token}").parse().unwrap());
    headers.insert("x-agent", "tests/1.0".parse().unwrap());
    headers.insert("cookie", "theme=dark; lang=en".parse().unwrap());
    headers.insert("sec-websocket-protocol", "jsonrpc2.0".parse().unwrap());
    let (ws, _) = tokio_tungstenite::connect_async(request)
        .await
        .expect("admitted");
    Client { ws }
}

#[tokio::test]
async fn a_rejected_handshake_gets_the_chosen_status_and_no_upgrade() {
    within(LIMIT, async {
        let server = authenticating().serve("127.0.0.1:0", Api).unwrap().spawn();
        let url = format!("ws://{}", server.local_addr());
        match tokio_tungstenite::connect_async(&url).await {
            Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
                assert_eq!(response.status(), 401);
                let body = response.body().as_deref().map(String::from_utf8_lossy);
                assert_eq!(body.as_deref(), Some("a bearer token is required"));
            }
            other => panic!("expected a 401, got {other:?}"),
        }
        let mut request = url.as_str().into_client_request().unwrap();
        request
            .headers_mut()
            .insert("authorization", "Bearer banned".parse().unwrap());
        match tokio_tungstenite::connect_async(request).await {
            Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
                assert_eq!(response.status(), 403)
            }
            other => panic!("expected a 403, got {other:?}"),
        }
        server.shutdown_and_wait().await;
    })
    .await;
}

#[tokio::test]
async fn the_context_carries_the_handshake_and_what_on_connect_stored() {
    within(LIMIT, async {
        let server = authenticating().serve("127.0.0.1:0", Api).unwrap().spawn();
        let mut client = connect_with(&server, "ada", "/rpc/v1?tenant=7").await;
        let first = client.call("whoami", json!([]), 1).await["result"].clone();
        assert_eq!(first["user"], "ada");
        assert_eq!(first["path"], "/rpc/v1");
        assert_eq!(first["query"], "tenant=7");
        assert_eq!(first["agent"], "tests/1.0");
        // The upgrade's own mechanics are not kept for the connection's life.
        let names = first["header_names"].as_array().unwrap();
        assert!(names.contains(&json!("host")) && names.contains(&json!("authorization")));
        for mechanics in [
            "connection",
            "upgrade",
            "sec-websocket-key",
            "sec-websocket-version",
        ] {
            assert!(
                !names.contains(&json!(mechanics)),
                "{mechanics} kept: {names:?}"
            );
        }
        assert_eq!(first["cookie"], "dark");
        assert_eq!(first["subprotocol"], "jsonrpc2.0");
        assert_eq!(first["method"], "whoami");
        assert_eq!(first["id"], "1");
        // The connection id is stable on a connection and differs between
        // connections.
        let again = client.call("whoami", json!([]), 2).await["result"].clone();
        assert_eq!(first["connection"], again["connection"]);
        let mut other = connect_with(&server, "bob", "/").await;
        let theirs = other.call("whoami", json!([]), 1).await["result"].clone();
        assert_ne!(first["connection"], theirs["connection"]);
        assert_eq!(theirs["user"], "bob");
        server.shutdown_and_wait().await;
    })
    .await;
}

#[tokio::test]
async fn a_denied_method_is_indistinguishable_from_an_unknown_one() {
    within(LIMIT, async {
        let server = authenticating().serve("127.0.0.1:0", Api).unwrap().spawn();
        let mut reader = connect_with(&server, "reader", "/").await;
        reader
            .send(r#"{"jsonrpc":"2.0","method":"export","params":{"bogus":1},"id":1}"#)
            .await;
        let denied = match reader.receive().await {
            ws::Received::Text(text) => text,
            other => panic!("{other:?}"),
        };
        reader
            .send(r#"{"jsonrpc":"2.0","method":"no_such_method","id":1}"#)
            .await;
        let unknown = match reader.receive().await {
            ws::Received::Text(text) => text,
            other => panic!("{other:?}"),
        };
        // Byte for byte, and before the (invalid) params were looked at.
        assert_eq!(denied, unknown);
        assert_eq!(
            denied,
            r#"{"jsonrpc":"2.0","error":{"code":-32601,"message":"Method not found"},"id":1}"#
        );

        let mut exporter = connect_with(&server, "exporter", "/").await;
        assert_eq!(
            exporter.call("export", json!([]), 1).await["result"],
            "the report"
        );
        // Every listed permission is required.
        assert_eq!(
            exporter.call("purge", json!([]), 2).await["error"]["code"],
            -32601
        );
        server.shutdown_and_wait().await;
    })
    .await;
}

#[tokio::test]
async fn rpc_discover_is_filtered_per_connection() {
    within(LIMIT, async {
        let server = authenticating().serve("127.0.0.1:0", Api).unwrap().spawn();
        let names = |reply: Value| -> Vec<String> {
            reply["result"]["methods"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| m["name"].as_str().unwrap().to_owned())
                .collect()
        };
        let mut reader = connect_with(&server, "reader", "/").await;
        let mut exporter = connect_with(&server, "exporter", "/").await;
        assert_eq!(
            names(reader.call("rpc.discover", json!([]), 1).await),
            ["whoami", "add", "note", "hang"]
        );
        assert_eq!(
            names(exporter.call("rpc.discover", json!([]), 1).await),
            ["whoami", "export", "add", "note", "hang"]
        );
        server.shutdown_and_wait().await;
    })
    .await;
}

/// Records the order middleware runs in.
#[derive(Clone, Default)]
struct Trace(Arc<Mutex<Vec<String>>>);

impl Trace {
    fn push(&self, event: String) {
        self.0.lock().unwrap().push(event);
    }
    fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

struct Named(&'static str, Trace);

impl Middleware for Named {
    fn handle<'a>(&'a self, call: Call<'a>, next: Next<'a>) -> MethodFuture<'a> {
        MethodFuture::from_result_future(async move {
            self.1.push(format!("{} before {}", self.0, call.method));
            let result = next.run(call).await;
            self.1.push(format!("{} after {}", self.0, call.method));
            result
        })
    }
}

/// Answers `blocked` itself, renames `plus` to `add`, doubles `add`'s
/// result, and panics on `explode`.
struct Rewriter;

impl Middleware for Rewriter {
    fn handle<'a>(&'a self, call: Call<'a>, next: Next<'a>) -> MethodFuture<'a> {
        match call.method {
            "blocked" => MethodFuture::err(RpcError::new(4290, "rate limited")),
            "explode" => panic!("middleware bug"),
            _ => MethodFuture::from_result_future(async move {
                let mut call = call;
                if call.method == "plus" {
                    call.method = "add";
                }
                let result = next.run(call).await?;
                if call.method != "add" {
                    return Ok(result);
                }
                let sum: i64 = serde_json::from_slice(result.json()).map_err(RpcError::internal)?;
                SerializedResult::new(&(sum * 2))
            }),
        }
    }
}

#[tokio::test]
async fn middleware_runs_in_order_short_circuits_and_rewrites() {
    within(LIMIT, async {
        let trace = Trace::default();
        let server = Server::builder()
            .middleware(Named("outer", trace.clone()))
            .middleware(Named("inner", trace.clone()))
            .middleware(Rewriter)
            .serve("127.0.0.1:0", Api).unwrap()
            .spawn();
        let mut client = Client::connect(server.local_addr()).await;

        assert_eq!(client.call("add", json!([1, 2]), 1).await["result"], 6);
        assert_eq!(
            trace.take(),
            ["outer before add", "inner before add", "inner after add", "outer after add"]
        );
        // A changed request: `plus` reaches the method as `add`.
        assert_eq!(client.call("plus", json!([2, 3]), 2).await["result"], 10);
        trace.take();
        // Answered by middleware without reaching the method.
        assert_eq!(
            client.call("blocked", json!([]), 3).await["error"],
            json!({"code": 4290, "message": "rate limited"})
        );
        // Notifications and batch elements go through the chain too.
        client.send(r#"{"jsonrpc":"2.0","method":"note"}"#).await;
        client
            .send(r#"[{"jsonrpc":"2.0","method":"add","params":[1,1],"id":"a"},{"jsonrpc":"2.0","method":"whoami","id":"b"}]"#)
            .await;
        let batch = client.receive_json().await;
        assert_eq!(batch[0]["result"], 4);
        let mut events = trace.take();
        events.sort();
        for method in ["add", "note", "whoami"] {
            for event in ["outer before", "outer after", "inner before", "inner after"] {
                assert!(events.contains(&format!("{event} {method}")), "{event} {method}: {events:?}");
            }
        }
        // A panic in middleware is INTERNAL_ERROR, and the connection goes on.
        assert_eq!(
            client.call("explode", json!([]), 4).await["error"],
            json!({"code": -32603, "message": "Internal error"})
        );
        assert_eq!(client.call("add", json!([1, 1]), 5).await["result"], 4);
        server.shutdown_and_wait().await;
    })
    .await;
}

/// Records every hook call.
#[derive(Clone, Default)]
struct Recorder(Trace);

impl Hooks for Recorder {
    fn call_started(&self, call: &Call<'_>) {
        let id = call.id.map_or("-".to_owned(), |id| id.as_raw().to_owned());
        self.0.push(format!("started {} {id}", call.method));
    }
    fn call_completed(&self, call: &Call<'_>, _elapsed: Duration) {
        self.0.push(format!("completed {}", call.method));
    }
    fn call_failed(&self, call: &Call<'_>, code: ErrorCode, _elapsed: Duration) {
        self.0
            .push(format!("failed {} {}", call.method, code.code()));
    }
    fn call_cancelled(&self, call: &Call<'_>, _elapsed: Duration) {
        self.0.push(format!("cancelled {}", call.method));
    }
    fn client_connected(&self, connection: &ConnectionInfo) {
        self.0
            .push(format!("connected {}", connection.remote_addr().is_some()));
    }
    fn client_disconnected(&self, _connection: &ConnectionInfo, reason: DisconnectReason) {
        self.0.push(format!("disconnected {reason:?}"));
    }
}

#[tokio::test]
async fn hooks_fire_once_each_with_the_right_data() {
    within(LIMIT, async {
        let recorder = Recorder::default();
        let disconnects = Trace::default();
        let on_disconnect = disconnects.clone();
        let server = Server::builder()
            .hooks(recorder.clone())
            .on_disconnect(move |connection, reason| {
                on_disconnect.push(format!("{} {reason}", connection.id().number() > 0));
            })
            .serve("127.0.0.1:0", Api).unwrap()
            .spawn();
        let mut client = Client::connect(server.local_addr()).await;
        assert_eq!(client.call("add", json!([1, 2]), 1).await["result"], 3);
        assert_eq!(client.call("nope", json!([]), 2).await["error"]["code"], -32601);
        client.send(r#"{"jsonrpc":"2.0","method":"note"}"#).await;
        client
            .send(r#"[{"jsonrpc":"2.0","method":"add","params":[1,1],"id":3},{"jsonrpc":"2.0","method":"add","params":["x"],"id":4}]"#)
            .await;
        client.receive_json().await;
        // Invalid requests are not calls: no hooks.
        client.send(r#"{"jsonrpc":"1.0","method":"add","id":5}"#).await;
        client.receive_json().await;
        drop(client);
        tokio::time::sleep(Duration::from_millis(200)).await;

        let mut events = recorder.0.take();
        let first = events.remove(0);
        assert_eq!(first, "connected true");
        let last = events.pop().unwrap();
        assert_eq!(last, "disconnected ClientClosed");
        events.sort();
        let mut expected = vec![
            "started add 1", "completed add",
            "started nope 2", "failed nope -32601",
            "started note -", "completed note",
            "started add 3", "completed add",
            "started add 4", "failed add -32602",
        ];
        expected.sort();
        assert_eq!(events, expected);
        assert_eq!(disconnects.take(), ["true the client closed the connection"]);
        server.shutdown_and_wait().await;
    })
    .await;
}

impl Recorder {
    /// Waits until the hooks have seen `event`.
    async fn saw(&self, event: &str) {
        while !self.0.0.lock().unwrap().iter().any(|seen| seen == event) {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

#[tokio::test]
async fn a_call_cut_short_with_its_connection_ends_as_cancelled() {
    within(LIMIT, async {
        let recorder = Recorder::default();
        let server = Server::builder()
            .hooks(recorder.clone())
            .serve("127.0.0.1:0", Api)
            .unwrap()
            .spawn();
        let mut client = Client::connect(server.local_addr()).await;
        client
            .send(r#"{"jsonrpc":"2.0","method":"hang","id":1}"#)
            .await;
        recorder.saw("started hang 1").await;
        let _raw = client.break_protocol().await;
        recorder.saw("disconnected ProtocolViolation").await;
        recorder.saw("cancelled hang").await;
        let mut events = recorder.0.take();
        events.sort();
        assert_eq!(
            events,
            [
                "cancelled hang",
                "connected true",
                "disconnected ProtocolViolation",
                "started hang 1"
            ]
        );
        server.shutdown_and_wait().await;
    })
    .await;
}

/// A runtime dropped with a connection and its call still running (what
/// the drain timeout's cut does to both) still ends them for the hooks and
/// `on_disconnect`: a gauge kept from the hooks comes back to zero.
#[test]
fn a_connection_dropped_unfinished_still_ends_for_the_hooks() {
    let recorder = Recorder::default();
    let disconnects = Trace::default();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let client = runtime.block_on(within(LIMIT, async {
        let on_disconnect = disconnects.clone();
        let server = Server::builder()
            .hooks(recorder.clone())
            .on_disconnect(move |_, reason| on_disconnect.push(format!("{reason:?}")))
            .serve("127.0.0.1:0", Api)
            .unwrap()
            .spawn();
        let mut client = Client::connect(server.local_addr()).await;
        client
            .send(r#"{"jsonrpc":"2.0","method":"hang","id":1}"#)
            .await;
        recorder.saw("started hang 1").await;
        (client, server)
    }));
    drop(runtime);
    let mut events = recorder.0.take();
    events.sort();
    assert_eq!(
        events,
        [
            "cancelled hang",
            "connected true",
            "disconnected ServerShutdown",
            "started hang 1"
        ]
    );
    assert_eq!(disconnects.take(), ["ServerShutdown"]);
    drop(client);
}

/// Hooks that panic on every event.
struct Panicking;

impl Hooks for Panicking {
    fn client_connected(&self, _connection: &ConnectionInfo) {
        panic!("connected");
    }
    fn client_disconnected(&self, _connection: &ConnectionInfo, _reason: DisconnectReason) {
        panic!("disconnected");
    }
    fn call_cancelled(&self, _call: &Call<'_>, _elapsed: Duration) {
        panic!("cancelled");
    }
}

#[tokio::test]
async fn a_panicking_connection_hook_costs_nothing_but_a_log_line() {
    within(LIMIT, async {
        let server = Server::builder()
            .hooks(Panicking)
            .serve("127.0.0.1:0", Api)
            .unwrap()
            .spawn();
        for _ in 0..2 {
            let mut client = Client::connect(server.local_addr()).await;
            assert_eq!(client.call("add", json!([1, 2]), 1).await["result"], 3);
            client
                .send(r#"{"jsonrpc":"2.0","method":"hang","id":2}"#)
                .await;
            client.break_protocol().await;
        }
        let mut client = Client::connect(server.local_addr()).await;
        assert_eq!(client.call("add", json!([2, 2]), 1).await["result"], 4);
        server.shutdown_and_wait().await;
    })
    .await;
}
