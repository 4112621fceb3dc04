//! The Origin check on WebSocket handshakes: cross-site pages refused with
//! 403 before `on_connect` runs; clients that are not browsers, same-origin
//! pages and listed origins admitted.

#[path = "common/ws.rs"]
mod ws;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use rpc_server::{Admission, Server, ServerBuilder, ServerHandle, rpc_service};
use tokio_tungstenite::tungstenite::Error as WsError;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use ws::within;

const LIMIT: Duration = Duration::from_secs(30);

struct Ping;

#[rpc_service]
impl Ping {
    fn ping(&self) -> &'static str {
        "pong"
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
        .spawn()
        .expect("bound");
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
