//! What browsers bring to a WebSocket handshake and an HTTP call. The
//! Origin check: cross-site pages refused with 403 before `on_connect`
//! runs; clients that are not browsers, same-origin pages and listed
//! origins admitted. CORS for HTTP: preflights and answers per the same
//! list. Tokens:
//! read from the `Authorization` header, the `bearer, <token>` subprotocols
//! or the `access_token` query parameter, and kept out of what the
//! connection holds.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use rpc_server::connect::{Admission, Rejection};
use rpc_server::{RpcContext, Server, ServerBuilder, ServerHandle, rpc_service};
use serde_json::json;
use tokio_tungstenite::tungstenite::Error as WsError;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use ws::within;

use crate::common::fixtures::LIMIT;
use crate::common::http;
use crate::common::ws;

struct Ping;

/// Who `on_connect` found the token to be.
struct User(String);

#[rpc_service]
impl Ping {
    fn ping(&self) -> &'static str {
        "pong"
    }

    /// The user, the subprotocol and the header names the connection kept.
    fn whoami(&self, ctx: &RpcContext) -> serde_json::Value {
        let names: Vec<&str> = ctx.headers().keys().map(|name| name.as_str()).collect();
        json!({
            "user": ctx.extensions().get::<User>().map(|user| user.0.clone()),
            "subprotocol": ctx.subprotocol(),
            "headers": names,
        })
    }
}

/// A server whose `on_connect` counts the handshakes it sees.
fn start(builder: ServerBuilder) -> (ServerHandle, Arc<AtomicUsize>) {
    let seen = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&seen);
    let handle = builder
        .on_connect(move |_request| {
            counter.fetch_add(1, Ordering::SeqCst);
            async { Ok(Admission::new()) }
        })
        .serve("127.0.0.1:0", Ping)
        .expect("bound")
        .spawn();
    (handle, seen)
}

/// The HTTP status of a handshake sending `origin` (101 when upgraded).
async fn handshake(addr: SocketAddr, origin: Option<&str>) -> u16 {
    let mut request = format!("ws://{addr}").into_client_request().unwrap();
    if let Some(origin) = origin {
        request
            .headers_mut()
            .insert("origin", origin.parse().unwrap());
    }
    match tokio_tungstenite::connect_async(request).await {
        Ok((_, response)) => response.status().as_u16(),
        Err(WsError::Http(response)) => response.status().as_u16(),
        Err(err) => panic!("handshake failed: {err}"),
    }
}

#[tokio::test]
async fn by_default_only_non_browsers_and_same_origin_pages_get_in() {
    within(LIMIT, async {
        let (server, seen) = start(Server::builder());
        let addr = server.local_addr();
        assert_eq!(handshake(addr, Some("https://evil.example")).await, 403);
        assert_eq!(handshake(addr, Some("null")).await, 403);
        assert_eq!(
            handshake(addr, Some(&format!("http://127.0.0.1:{}", addr.port() + 1))).await,
            403
        );
        assert_eq!(
            seen.load(Ordering::SeqCst),
            0,
            "on_connect never ran for them"
        );

        assert_eq!(handshake(addr, None).await, 101, "not a browser");
        assert_eq!(
            handshake(addr, Some(&format!("http://{addr}"))).await,
            101,
            "same origin"
        );
        assert_eq!(seen.load(Ordering::SeqCst), 2);
        server.shutdown_and_wait().await;
    })
    .await;
}

#[tokio::test]
async fn listed_origins_and_subdomain_patterns_get_in() {
    within(LIMIT, async {
        let builder =
            Server::builder().allowed_origins(["https://app.example.com", "https://*.example.org"]);
        let (server, _) = start(builder);
        let addr = server.local_addr();
        for allowed in ["https://app.example.com", "https://eu.example.org"] {
            assert_eq!(handshake(addr, Some(allowed)).await, 101, "{allowed}");
        }
        for refused in [
            "https://example.org",
            "http://app.example.com",
            "https://app.example.com.evil.net",
        ] {
            assert_eq!(handshake(addr, Some(refused)).await, 403, "{refused}");
        }
        server.shutdown_and_wait().await;

        let (server, _) = start(Server::builder().allowed_origins(["*"]));
        assert_eq!(
            handshake(server.local_addr(), Some("https://anyone.example")).await,
            101
        );
        server.shutdown_and_wait().await;
    })
    .await;
}

#[tokio::test]
async fn a_token_is_read_from_the_header_the_subprotocols_or_the_query() {
    within(LIMIT, async {
        let server = Server::builder()
            .on_connect(|request| async move {
                match request.token() {
                    Some("s3cret") => Ok(Admission::new().insert(User("ada".into()))),
                    _ => Err(Rejection::unauthorized("a token is required")),
                }
            })
            .serve("127.0.0.1:0", Ping)
            .expect("bound")
            .spawn();
        let addr = server.local_addr();
        let ways: [(&str, Option<(&str, &str)>); 4] = [
            ("/", Some(("authorization", "Bearer s3cret"))),
            ("/", Some(("sec-websocket-protocol", "bearer, s3cret"))),
            (
                "/",
                Some(("sec-websocket-protocol", "jsonrpc2.0, bearer, s3cret")),
            ),
            ("/?access_token=s3cret", None),
        ];
        for (path, header) in ways {
            let mut request = format!("ws://{addr}{path}").into_client_request().unwrap();
            if let Some((name, value)) = header {
                request.headers_mut().insert(name, value.parse().unwrap());
            }
            let (socket, response) = tokio_tungstenite::connect_async(request)
                .await
                .unwrap_or_else(|err| panic!("{path} {header:?}: {err}"));
            // A browser gets one of its offers back, never the token.
            let chosen = response
                .headers()
                .get("sec-websocket-protocol")
                .map(|value| value.to_str().unwrap().to_owned());
            if let Some((_, offer)) = header.filter(|(name, _)| name.starts_with("sec-")) {
                let expected = if offer.starts_with("jsonrpc") {
                    "jsonrpc2.0"
                } else {
                    "bearer"
                };
                assert_eq!(chosen.as_deref(), Some(expected));
            }
            let mut client = ws::Client { ws: socket };
            let me = client.call("whoami", json!([]), 1).await["result"].clone();
            assert_eq!(me["user"], "ada", "{path} {header:?}");
            assert!(
                !me["headers"]
                    .as_array()
                    .unwrap()
                    .contains(&json!("sec-websocket-protocol")),
                "the offer holding the token is not kept: {me}"
            );
        }
        let (status, _) = match tokio_tungstenite::connect_async(format!("ws://{addr}/")).await {
            Err(WsError::Http(response)) => (response.status().as_u16(), ()),
            other => panic!("admitted without a token: {:?}", other.map(|_| ())),
        };
        assert_eq!(status, 401);
        server.shutdown_and_wait().await;
    })
    .await;
}

const LISTED: &str = "https://app.example.com";

/// A CORS preflight for a JSON call with a token, from `origin`.
async fn preflight(addr: SocketAddr, origin: &str) -> http::HttpResponse {
    let headers = [
        ("origin", origin),
        ("access-control-request-method", "POST"),
        (
            "access-control-request-headers",
            "content-type, authorization",
        ),
    ];
    http::request(addr, "OPTIONS", "/", &headers, "").await
}

/// A JSON-RPC `POST` from a page on `origin`.
async fn post_from(addr: SocketAddr, origin: &str) -> http::HttpResponse {
    let headers = [("content-type", "application/json"), ("origin", origin)];
    let body = r#"{"jsonrpc":"2.0","method":"ping","id":1}"#;
    http::request(addr, "POST", "/", &headers, body).await
}

#[tokio::test]
async fn preflights_are_answered_for_listed_origins_only() {
    within(LIMIT, async {
        let (server, seen) = start(Server::builder().allowed_origins([LISTED]));
        let addr = server.local_addr();

        let allowed = preflight(addr, LISTED).await;
        assert_eq!(allowed.status, 200);
        assert_eq!(allowed.header("access-control-allow-origin"), Some(LISTED));
        let methods = allowed.header("access-control-allow-methods").unwrap();
        assert!(
            methods.contains("POST") && methods.contains("GET"),
            "{methods}"
        );
        let headers = allowed.header("access-control-allow-headers").unwrap();
        assert!(
            headers.contains("content-type") && headers.contains("authorization"),
            "{headers}"
        );
        assert!(allowed.header("access-control-max-age").is_some());
        assert!(allowed.header("vary").unwrap().contains("origin"));
        assert_eq!(
            allowed.header("access-control-allow-credentials"),
            None,
            "no credentials unless configured"
        );

        // The browser sees no permission, and so never sends the call.
        let refused = preflight(addr, "https://evil.example").await;
        assert_eq!(refused.header("access-control-allow-origin"), None);
        assert_eq!(seen.load(Ordering::SeqCst), 0, "preflights run nothing");
        server.shutdown_and_wait().await;
    })
    .await;
}

#[tokio::test]
async fn calls_from_listed_origins_are_answered_and_others_refused() {
    within(LIMIT, async {
        let (server, seen) = start(Server::builder().allowed_origins([LISTED]));
        let addr = server.local_addr();

        let answered = post_from(addr, LISTED).await;
        assert_eq!(answered.status, 200);
        assert_eq!(answered.json()["result"], "pong");
        assert_eq!(answered.header("access-control-allow-origin"), Some(LISTED));
        let document = http::request(addr, "GET", "/openrpc.json", &[("origin", LISTED)], "").await;
        assert_eq!(document.status, 200);
        assert_eq!(document.header("access-control-allow-origin"), Some(LISTED));
        assert_eq!(seen.load(Ordering::SeqCst), 2);

        let refused = post_from(addr, "https://evil.example").await;
        assert_eq!(refused.status, 403);
        assert_eq!(refused.header("access-control-allow-origin"), None);
        assert_eq!(
            seen.load(Ordering::SeqCst),
            2,
            "on_connect never ran for it"
        );

        // Same origin (the test client's Host is `test`), and no Origin at
        // all: served, with no CORS headers needed.
        assert_eq!(post_from(addr, "http://test").await.status, 200);
        let plain = http::post(addr, r#"{"jsonrpc":"2.0","method":"ping","id":1}"#).await;
        assert_eq!(plain.status, 200);
        assert_eq!(plain.header("access-control-allow-origin"), None);
        server.shutdown_and_wait().await;
    })
    .await;
}

#[tokio::test]
async fn credentials_are_allowed_only_when_configured() {
    within(LIMIT, async {
        let builder = Server::builder()
            .allowed_origins([LISTED])
            .cors_credentials(true);
        let (server, _) = start(builder);
        let addr = server.local_addr();
        for response in [preflight(addr, LISTED).await, post_from(addr, LISTED).await] {
            assert_eq!(response.header("access-control-allow-origin"), Some(LISTED));
            assert_eq!(
                response.header("access-control-allow-credentials"),
                Some("true")
            );
        }
        server.shutdown_and_wait().await;
    })
    .await;
}

/// Any origin with CORS credentials would let every page call the server
/// with its visitors' cookies (tower-http refuses the pair; a predicate
/// got around its check): the server refuses to start, from the builder,
/// from the environment, and mounted.
#[test]
fn any_origin_with_credentials_refuses_to_start() {
    let Err(refused) = Server::builder()
        .allowed_origins(["*"])
        .cors_credentials(true)
        .serve("127.0.0.1:0", Ping)
    else {
        panic!("started with any origin and credentials");
    };
    let message = refused.to_string();
    assert!(
        message.contains("RPC_ALLOWED_ORIGINS") && message.contains("RPC_CORS_CREDENTIALS"),
        "names both settings: {message}"
    );
    let from_env = rpc_server::ServerConfig::from_lookup(|name| match name {
        "RPC_ALLOWED_ORIGINS" => Some("*".to_owned()),
        "RPC_CORS_CREDENTIALS" => Some("true".to_owned()),
        _ => None,
    });
    assert_eq!(from_env.unwrap_err().variable(), "RPC_ALLOWED_ORIGINS");
    let mounted = std::panic::catch_unwind(|| {
        Server::builder()
            .allowed_origins(["*"])
            .cors_credentials(true)
            .endpoint(Ping)
    });
    assert!(mounted.is_err(), "the mounted endpoint refuses too");
    // Each alone is allowed.
    assert!(
        Server::builder()
            .allowed_origins(["*"])
            .serve("127.0.0.1:0", Ping)
            .is_ok()
    );
}
