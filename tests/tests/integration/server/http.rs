//! JSON-RPC over plain HTTP on the WebSocket's port: every outcome, the
//! same authentication, transport-restricted methods, both at once.

use std::time::Duration;

use http::{post, request};
use rpc_server::config::Limits;
use rpc_server::{RpcContext, Server, ServerHandle, rpc_service};
use serde_json::json;
use ws::{Client, within};

use crate::common::fixtures::{LIMIT, User, authenticating};
use crate::common::http;
use crate::common::ws;

struct Api;

#[rpc_service(title = "api")]
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

    #[rpc(permission = "reports.export")]
    fn export(&self) -> &'static str {
        "report"
    }

    #[rpc(transport = "ws")]
    fn ws_only(&self) -> &'static str {
        "ws"
    }

    #[rpc(transport = "http")]
    fn http_only(&self) -> &'static str {
        "http"
    }

    #[rpc(notification)]
    fn note(&self) {}
}

fn start(builder: rpc_server::ServerBuilder) -> ServerHandle {
    builder.serve("127.0.0.1:0", Api).unwrap().spawn()
}

#[tokio::test]
async fn a_post_is_answered_with_200_and_json() {
    within(LIMIT, async {
        let server = start(Server::builder());
        let response = post(server.local_addr(), r#"{"jsonrpc":"2.0","method":"add","params":[1,2],"id":1}"#).await;
        assert_eq!(response.status, 200);
        assert_eq!(response.header("content-type"), Some("application/json"));
        assert_eq!(response.body, r#"{"jsonrpc":"2.0","result":3,"id":1}"#);
        // Batches too, and errors are still 200.
        let response = post(
            server.local_addr(),
            r#"[{"jsonrpc":"2.0","method":"add","params":[1,2],"id":1},{"jsonrpc":"2.0","method":"nope","id":2}]"#,
        )
        .await;
        assert_eq!(response.status, 200);
        assert_eq!(response.json()[1]["error"]["code"], -32601);
        let response = post(server.local_addr(), "{oops").await;
        assert_eq!((response.status, response.json()["error"]["code"].clone()), (200, json!(-32700)));
        server.shutdown_and_wait().await;
    })
    .await;
}

#[tokio::test]
async fn notifications_get_204() {
    within(LIMIT, async {
        let server = start(Server::builder());
        let response = post(server.local_addr(), r#"{"jsonrpc":"2.0","method":"note"}"#).await;
        assert_eq!((response.status, response.body.as_str()), (204, ""));
        let response = post(
            server.local_addr(),
            r#"[{"jsonrpc":"2.0","method":"note"},{"jsonrpc":"2.0","method":"note"}]"#,
        )
        .await;
        assert_eq!(response.status, 204);
        server.shutdown_and_wait().await;
    })
    .await;
}

#[tokio::test]
async fn an_oversized_body_is_413_with_a_request_too_large_error() {
    within(LIMIT, async {
        let server = start(Server::builder().limits(Limits::default().with_max_message_size(256)));
        let big = format!(
            r#"{{"jsonrpc":"2.0","method":"add","params":[1,2],"id":1,"pad":"{}"}}"#,
            "x".repeat(1000)
        );
        let response = post(server.local_addr(), &big).await;
        assert_eq!(response.status, 413);
        assert_eq!(response.json()["error"]["code"], -32001);
        server.shutdown_and_wait().await;
    })
    .await;
}

#[tokio::test]
async fn wrong_content_type_is_415_and_other_methods_are_405() {
    within(LIMIT, async {
        let server = start(Server::builder());
        let addr = server.local_addr();
        let body = r#"{"jsonrpc":"2.0","method":"add","params":[1,2],"id":1}"#;
        let response = request(addr, "POST", "/", &[("content-type", "text/plain")], body).await;
        assert_eq!(response.status, 415);
        let response = request(
            addr,
            "POST",
            "/",
            &[("content-type", "application/json; charset=utf-8")],
            body,
        )
        .await;
        assert_eq!(response.status, 200);
        for method in ["GET", "PUT", "DELETE"] {
            let response = request(addr, method, "/", &[], "").await;
            assert_eq!(response.status, 405, "{method}");
            assert_eq!(response.header("allow"), Some("POST"));
        }
        assert_eq!(request(addr, "GET", "/nowhere", &[], "").await.status, 404);
        server.shutdown_and_wait().await;
    })
    .await;
}

#[tokio::test]
async fn the_openrpc_document_is_served_and_filtered_by_permission() {
    within(LIMIT, async {
        let server = start(authenticating());
        let addr = server.local_addr();
        let names = |response: http::HttpResponse| -> Vec<String> {
            assert_eq!(response.status, 200);
            response.json()["methods"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| m["name"].as_str().unwrap().to_owned())
                .collect()
        };
        let reader = names(
            request(
                addr,
                "GET",
                "/openrpc.json",
                &[("authorization", "Bearer reader")],
                "",
            )
            .await,
        );
        assert!(!reader.contains(&"export".to_owned()));
        assert!(reader.contains(&"http_only".to_owned()));
        assert!(
            !reader.contains(&"ws_only".to_owned()),
            "a WebSocket-only method is not listed over HTTP"
        );
        let exporter = names(
            request(
                addr,
                "GET",
                "/openrpc.json",
                &[("authorization", "Bearer exporter")],
                "",
            )
            .await,
        );
        assert!(exporter.contains(&"export".to_owned()));
        assert_eq!(
            request(addr, "GET", "/openrpc.json", &[], "").await.status,
            401
        );
        server.shutdown_and_wait().await;
    })
    .await;
}

#[tokio::test]
async fn the_same_authentication_applies_to_http() {
    within(LIMIT, async {
        let server = start(authenticating());
        let addr = server.local_addr();
        let call = |token: Option<&'static str>, method: &'static str| async move {
            let mut headers = vec![("content-type", "application/json")];
            let bearer;
            if let Some(token) = token {
                bearer = format!("Bearer {token}");
                headers.push(("authorization", bearer.as_str()));
            }
            let body = format!(r#"{{"jsonrpc":"2.0","method":"{method}","id":1}}"#);
            request(addr, "POST", "/", &headers, &body).await
        };
        let refused = call(None, "whoami").await;
        assert_eq!(
            (refused.status, refused.body.as_str()),
            (401, "a bearer token is required")
        );
        assert_eq!(call(Some("ada"), "whoami").await.json()["result"], "ada");
        assert_eq!(
            call(Some("ada"), "export").await.json()["error"]["code"],
            -32601
        );
        assert_eq!(
            call(Some("exporter"), "export").await.json()["result"],
            "report"
        );
        server.shutdown_and_wait().await;
    })
    .await;
}

#[tokio::test]
async fn transport_restricted_methods_look_unknown_over_the_other_transport() {
    within(LIMIT, async {
        let server = start(Server::builder());
        let addr = server.local_addr();
        let over_http = |method: &'static str| async move {
            post(
                addr,
                &format!(r#"{{"jsonrpc":"2.0","method":"{method}","id":1}}"#),
            )
            .await
            .json()
        };
        assert_eq!(over_http("http_only").await["result"], "http");
        assert_eq!(over_http("ws_only").await["error"]["code"], -32601);
        let mut client = Client::connect(addr).await;
        assert_eq!(client.call("ws_only", json!([]), 1).await["result"], "ws");
        assert_eq!(
            client.call("http_only", json!([]), 2).await["error"]["code"],
            -32601
        );
        server.shutdown_and_wait().await;
    })
    .await;
}

#[tokio::test]
async fn a_websocket_and_http_calls_on_the_same_port_at_the_same_time() {
    within(LIMIT, async {
        let server = start(Server::builder());
        let addr = server.local_addr();
        let mut client = Client::connect(addr).await;
        client
            .send(r#"{"jsonrpc":"2.0","method":"sleep","params":[300],"id":1}"#)
            .await;
        let http = tokio::spawn(async move {
            post(
                addr,
                r#"{"jsonrpc":"2.0","method":"sleep","params":[300],"id":2}"#,
            )
            .await
        });
        assert_eq!(client.receive_json().await["result"], 300);
        let response = http.await.unwrap();
        assert_eq!(response.json()["result"], 300);
        server.shutdown_and_wait().await;
    })
    .await;
}

#[tokio::test]
async fn health_is_200_while_serving_and_503_while_draining() {
    within(LIMIT, async {
        let server = start(Server::builder());
        let addr = server.local_addr();
        assert_eq!(request(addr, "GET", "/health", &[], "").await.status, 200);
        // A slow call in flight, and a health check pipelined behind it on
        // the same connection: by the time it is read, the server drains.
        let slow = http::build(
            "POST",
            "/",
            &[("content-type", "application/json")],
            r#"{"jsonrpc":"2.0","method":"sleep","params":[400],"id":1}"#,
            false,
        );
        let health = http::build("GET", "/health", &[], "", true);
        let pipelined = format!("{slow}{health}");
        let exchange =
            tokio::spawn(async move { http::exchange(addr, pipelined.as_bytes()).await });
        tokio::time::sleep(Duration::from_millis(100)).await;
        server.shutdown();
        let responses = exchange.await.unwrap();
        assert_eq!(responses.len(), 2, "{responses:?}");
        assert_eq!(
            responses[0].json()["result"],
            400,
            "the request in flight is answered"
        );
        assert_eq!(responses[1].status, 503);
        server.stopped().await;
    })
    .await;
}

#[tokio::test]
async fn keep_alive_connections_count_toward_max_connections_and_idle_ones_close() {
    within(LIMIT, async {
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        let server = start(
            Server::builder()
                .max_connections(1)
                .keep_alive_timeout(Duration::from_millis(300)),
        );
        let addr = server.local_addr();
        let mut kept = tokio::net::TcpStream::connect(addr).await.unwrap();
        let call = http::build(
            "POST",
            "/",
            &[("content-type", "application/json")],
            r#"{"jsonrpc":"2.0","method":"add","params":[1,2],"id":1}"#,
            false,
        );
        kept.write_all(call.as_bytes()).await.unwrap();
        let mut buf = vec![0u8; 4096];
        let n = kept.read(&mut buf).await.unwrap();
        assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
        // The kept-alive connection holds the only slot.
        assert_eq!(
            post(
                addr,
                r#"{"jsonrpc":"2.0","method":"add","params":[1,2],"id":1}"#
            )
            .await
            .status,
            503
        );
        // Idle past the keep-alive timeout, it is closed, freeing the slot.
        let closed = tokio::time::timeout(Duration::from_secs(5), kept.read(&mut buf)).await;
        assert!(matches!(closed, Ok(Ok(0)) | Ok(Err(_))), "{closed:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(
            post(
                addr,
                r#"{"jsonrpc":"2.0","method":"add","params":[1,2],"id":1}"#
            )
            .await
            .status,
            200
        );
        server.shutdown_and_wait().await;
    })
    .await;
}

struct Pushy;

#[rpc_service]
impl Pushy {
    /// Takes the client's `Peer`: WebSocket-only by nature.
    async fn ping_me(&self, peer: rpc_server::Peer) -> bool {
        peer.notify("pinged", ()).await.is_ok()
    }
}

#[tokio::test]
async fn a_method_taking_a_peer_is_websocket_only() {
    use rpc_server::connect::Transport;
    use rpc_server::service::Service;
    assert_eq!(
        Pushy.method("ping_me").unwrap().transport,
        Some(Transport::WebSocket)
    );
    within(LIMIT, async {
        let server = Server::builder()
            .serve("127.0.0.1:0", Pushy)
            .unwrap()
            .spawn();
        let addr = server.local_addr();
        let over_http = post(addr, r#"{"jsonrpc":"2.0","method":"ping_me","id":1}"#).await;
        assert_eq!(over_http.json()["error"]["code"], -32601);
        let mut client = Client::connect(addr).await;
        client
            .send(r#"{"jsonrpc":"2.0","method":"ping_me","id":1}"#)
            .await;
        let mut got = [client.receive_json().await, client.receive_json().await];
        got.sort_by_key(|m| m.get("id").is_some());
        assert_eq!(got[0]["method"], "pinged");
        assert_eq!(got[1]["result"], true);
        server.shutdown_and_wait().await;
    })
    .await;
}

/// An idle keep-alive connection lives for the keep-alive timeout, not the
/// (shorter) handshake timeout, and is closed after it.
#[tokio::test]
async fn an_idle_keep_alive_connection_lasts_the_keep_alive_timeout() {
    within(LIMIT, async {
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        let server = start(
            Server::builder()
                .handshake_timeout(Duration::from_millis(300))
                .keep_alive_timeout(Duration::from_millis(1_500)),
        );
        let mut kept = tokio::net::TcpStream::connect(server.local_addr())
            .await
            .unwrap();
        let call = http::build(
            "POST",
            "/",
            &[("content-type", "application/json")],
            r#"{"jsonrpc":"2.0","method":"add","params":[1,2],"id":1}"#,
            false,
        );
        let mut buf = vec![0u8; 4096];
        for _ in 0..2 {
            kept.write_all(call.as_bytes()).await.unwrap();
            let n = kept.read(&mut buf).await.unwrap();
            assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
            // Idle for longer than the handshake timeout: still open.
            tokio::time::sleep(Duration::from_millis(700)).await;
        }
        let closed = tokio::time::timeout(Duration::from_secs(5), kept.read(&mut buf)).await;
        assert!(matches!(closed, Ok(Ok(0)) | Ok(Err(_))), "{closed:?}");
        server.shutdown_and_wait().await;
    })
    .await;
}

#[tokio::test]
async fn the_explorer_is_served_self_contained_and_can_be_turned_off() {
    within(LIMIT, async {
        // Served without a token: the page is static; its WebSocket is what
        // `on_connect` admits.
        let server = start(authenticating());
        let addr = server.local_addr();
        let page = request(addr, "GET", "/explorer", &[], "").await;
        assert_eq!(page.status, 200);
        assert_eq!(
            page.header("content-type"),
            Some("text/html; charset=utf-8")
        );
        let policy = page.header("content-security-policy").expect("a CSP");
        assert!(policy.starts_with("default-src 'none'"), "{policy}");
        assert!(policy.contains("connect-src 'self'"), "{policy}");
        for asset in ["/explorer/explorer.js", "/explorer/explorer.css"] {
            assert_eq!(
                request(addr, "GET", asset, &[], "").await.status,
                200,
                "{asset}"
            );
        }
        assert_eq!(
            request(addr, "GET", "/explorer/nothing.js", &[], "")
                .await
                .status,
            404
        );
        server.shutdown_and_wait().await;

        let server = start(Server::builder().explorer(false));
        let addr = server.local_addr();
        for path in ["/explorer", "/explorer/explorer.js"] {
            assert_eq!(
                request(addr, "GET", path, &[], "").await.status,
                404,
                "{path}"
            );
        }
        server.shutdown_and_wait().await;
    })
    .await;
}

#[tokio::test]
async fn rpc_discover_answers_the_openrpc_playgrounds_way_of_asking() {
    within(LIMIT, async {
        // The playground (and @open-rpc/client-js) sends `"params": []`.
        let server = start(Server::builder());
        let addr = server.local_addr();
        let ask = r#"{"jsonrpc":"2.0","method":"rpc.discover","params":[],"id":1}"#;
        let over_http = post(addr, ask).await.json();
        assert_eq!(over_http["result"]["openrpc"], "1.2.6", "{over_http}");
        let mut socket = Client::connect(addr).await;
        let over_ws = socket.call("rpc.discover", json!([]), 1).await;
        assert_eq!(over_ws["result"]["openrpc"], "1.2.6", "{over_ws}");
        // (The two list different methods: `ws_only` and `http_only`.)
        assert_ne!(over_ws["result"]["methods"], over_http["result"]["methods"]);
        let by_name = socket.call("rpc.discover", json!({}), 2).await;
        assert_eq!(by_name["result"], over_ws["result"]);
        server.shutdown_and_wait().await;
    })
    .await;
}
