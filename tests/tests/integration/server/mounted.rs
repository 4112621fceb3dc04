//! The endpoint mounted in an axum app (`ServerBuilder::endpoint`): the
//! same limits, origins, authentication and graceful shutdown as a server
//! of its own, over real sockets.

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use rpc_server::config::Limits;
use rpc_server::{Endpoint, RpcContext, Server, rpc_service};
use serde_json::json;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use ws::{Client, within};

use crate::common::fixtures::{LIMIT, User, authenticating};
use crate::common::http;
use crate::common::ws;

struct Api;

#[rpc_service]
impl Api {
    async fn add(&self, a: i64, b: i64) -> i64 {
        a + b
    }

    async fn sleep(&self, ms: u64) -> u64 {
        tokio::time::sleep(Duration::from_millis(ms)).await;
        ms
    }

    fn whoami(&self, ctx: &RpcContext) -> Option<String> {
        ctx.extensions().get::<User>().map(|user| user.0.clone())
    }

    fn remote(&self, ctx: &RpcContext) -> Option<String> {
        ctx.remote_addr().map(|addr| addr.ip().to_string())
    }

    #[rpc(permission = "reports.export")]
    fn export(&self) -> &'static str {
        "report"
    }
}

/// An axum app with `endpoint` nested at `/rpc`, served with its
/// connection info (or without, when `connect_info` is false).
async fn mount(endpoint: Endpoint<Api>, connect_info: bool) -> SocketAddr {
    let app = Router::new()
        .route("/", axum::routing::get(|| async { "app" }))
        .nest_service("/rpc", endpoint);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        if connect_info {
            let app = app.into_make_service_with_connect_info::<SocketAddr>();
            axum::serve(listener, app).await
        } else {
            axum::serve(listener, app).await
        }
    });
    addr
}

fn url(addr: SocketAddr) -> String {
    format!("ws://{addr}/rpc")
}

/// The status of a refused WebSocket handshake (panics if it is accepted).
async fn refused(addr: SocketAddr, headers: &[(&str, &str)]) -> u16 {
    let mut request = url(addr).into_client_request().unwrap();
    for (name, value) in headers {
        let name: axum::http::HeaderName = name.parse().expect("a header name");
        request
            .headers_mut()
            .insert(name, value.parse().expect("a header value"));
    }
    match tokio_tungstenite::connect_async(request).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => response.status().as_u16(),
        Ok(_) => panic!("the handshake was accepted"),
        Err(other) => panic!("not an HTTP refusal: {other}"),
    }
}

fn post(
    addr: SocketAddr,
    headers: &[(&str, &str)],
    body: &str,
) -> impl Future<Output = http::HttpResponse> {
    let mut all = vec![("content-type", "application/json")];
    all.extend_from_slice(headers);
    let raw = http::build("POST", "/rpc", &all, body, true);
    async move {
        http::exchange(addr, raw.as_bytes())
            .await
            .pop()
            .expect("a response")
    }
}

#[tokio::test]
async fn websocket_and_http_post_share_the_port_with_the_app() {
    within(LIMIT, async {
        let addr = mount(Server::builder().endpoint(Api), true).await;
        let root = http::request(addr, "GET", "/", &[], "").await;
        assert_eq!((root.status, root.body.as_str()), (200, "app"));

        let answer = post(
            addr,
            &[],
            r#"{"jsonrpc":"2.0","method":"add","params":[1,2],"id":1}"#,
        )
        .await;
        assert_eq!(answer.body, r#"{"jsonrpc":"2.0","result":3,"id":1}"#);
        let document = http::request(addr, "GET", "/rpc/openrpc.json", &[], "").await;
        assert_eq!(document.json()["methods"][0]["name"], "add");
        let health = http::request(addr, "GET", "/rpc/health", &[], "").await;
        assert_eq!((health.status, health.body.as_str()), (200, "ok"));

        let mut client = Client::connect_to(&url(addr)).await;
        assert_eq!(client.call("add", json!([20, 22]), 1).await["result"], 42);
        // The client's address, from axum's ConnectInfo.
        assert_eq!(
            client.call("remote", json!([]), 2).await["result"],
            "127.0.0.1"
        );
    })
    .await;
}

#[tokio::test]
async fn the_message_size_limit_applies_to_both_transports() {
    within(LIMIT, async {
        let builder = Server::builder().limits(Limits::default().with_max_message_size(256));
        let addr = mount(builder.endpoint(Api), true).await;
        let big = format!(
            r#"{{"jsonrpc":"2.0","method":"add","params":[1,2],"id":1,"pad":"{}"}}"#,
            "x".repeat(1000)
        );
        let response = post(addr, &[], &big).await;
        assert_eq!(response.status, 413);
        assert_eq!(response.json()["error"]["code"], -32001);
        let mut client = Client::connect_to(&url(addr)).await;
        client.send(&big).await;
        assert_eq!(client.receive_json().await["error"]["code"], -32001);
    })
    .await;
}

#[tokio::test]
async fn origins_and_on_connect_are_enforced() {
    within(LIMIT, async {
        let builder = authenticating().allowed_origins(["https://app.example"]);
        let addr = mount(builder.endpoint(Api), true).await;
        let evil = ("origin", "https://evil.example");
        assert_eq!(
            refused(addr, &[evil, ("authorization", "Bearer reader")]).await,
            403
        );
        assert_eq!(refused(addr, &[]).await, 401);
        let call = r#"{"jsonrpc":"2.0","method":"whoami","id":1}"#;
        assert_eq!(
            post(addr, &[evil, ("authorization", "Bearer reader")], call)
                .await
                .status,
            403
        );
        assert_eq!(post(addr, &[], call).await.status, 401);
        let answer = post(addr, &[("authorization", "Bearer reader")], call).await;
        assert_eq!(answer.json()["result"], "reader");

        let mut request = url(addr).into_client_request().unwrap();
        let bearer = "Bearer reader".parse().unwrap();
        request.headers_mut().insert("authorization", bearer);
        let (ws, _) = tokio_tungstenite::connect_async(request)
            .await
            .expect("connect");
        let mut reader = Client { ws };
        assert_eq!(
            reader.call("whoami", json!([]), 1).await["result"],
            "reader"
        );
        let export = reader.call("export", json!([]), 2).await;
        assert_eq!(
            export["error"]["code"], -32601,
            "hidden from a reader: {export}"
        );
    })
    .await;
}

#[tokio::test]
async fn max_connections_and_per_address_limits_count_websockets() {
    within(LIMIT, async {
        let addr = mount(Server::builder().max_connections(1).endpoint(Api), true).await;
        let mut first = Client::connect_to(&url(addr)).await;
        assert_eq!(refused(addr, &[]).await, 503);
        // HTTP calls are the host's connections, not counted.
        let answer = post(
            addr,
            &[],
            r#"{"jsonrpc":"2.0","method":"add","params":[1,1],"id":1}"#,
        )
        .await;
        assert_eq!(answer.json()["result"], 2);
        first.ws.close(None).await.unwrap();
        let _ = first.closed().await;
        // The slot comes back once the first has closed.
        let mut again = None;
        for _ in 0..50 {
            if let Ok((ws, _)) = tokio_tungstenite::connect_async(url(addr)).await {
                again = Some(Client { ws });
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(again.is_some(), "a slot is free again");

        let builder = Server::builder().max_connections_per_ip(Some(1));
        let addr = mount(builder.endpoint(Api), true).await;
        let _first = Client::connect_to(&url(addr)).await;
        assert_eq!(refused(addr, &[]).await, 429);
    })
    .await;
}

#[tokio::test]
async fn without_connect_info_calls_work_and_per_address_limits_are_off() {
    within(LIMIT, async {
        let builder = Server::builder().max_connections_per_ip(Some(1));
        let addr = mount(builder.endpoint(Api), false).await;
        let mut first = Client::connect_to(&url(addr)).await;
        let mut second = Client::connect_to(&url(addr)).await;
        assert_eq!(
            first.call("remote", json!([]), 1).await["result"],
            "0.0.0.0"
        );
        assert_eq!(second.call("add", json!([1, 2]), 1).await["result"], 3);
    })
    .await;
}

#[tokio::test]
async fn shutdown_answers_calls_in_flight_then_closes_with_1001() {
    within(LIMIT, async {
        let endpoint = Server::builder().endpoint(Api);
        let addr = mount(endpoint.clone(), true).await;
        let mut client = Client::connect_to(&url(addr)).await;
        client
            .send(r#"{"jsonrpc":"2.0","method":"sleep","params":[300],"id":7}"#)
            .await;
        tokio::time::sleep(Duration::from_millis(50)).await;
        endpoint.shutdown();
        let health = http::request(addr, "GET", "/rpc/health", &[], "").await;
        assert_eq!((health.status, health.body.as_str()), (503, "draining"));
        assert_eq!(refused(addr, &[]).await, 503, "no new WebSocket");
        let reply = client.receive_json().await;
        assert_eq!(
            (reply["id"].clone(), reply["result"].clone()),
            (json!(7), json!(300))
        );
        let close = client.closed().await.expect("a close frame");
        assert_eq!(u16::from(close.code), 1001);
        tokio::time::timeout(Duration::from_secs(5), endpoint.stopped())
            .await
            .expect("stopped once the WebSocket closed");
    })
    .await;
}
