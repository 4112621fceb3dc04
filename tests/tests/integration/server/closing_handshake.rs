//! The WebSocket closing handshake, as a client library sees it: a client
//! that closes gets the server's close frame back (its code echoed, 1002
//! for a code that is not allowed), so its close is clean, with or without
//! calls in flight.

use std::time::Duration;

use futures_util::{SinkExt as _, StreamExt as _};
use rpc_server::{Server, ServerHandle, rpc_service};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use ws::{Client, within};

use crate::common::fixtures::LIMIT;
use crate::common::ws;

struct Svc;

#[rpc_service]
impl Svc {
    async fn sleep(&self, ms: u64) -> u64 {
        tokio::time::sleep(Duration::from_millis(ms)).await;
        ms
    }
}

fn start() -> ServerHandle {
    Server::builder().serve("127.0.0.1:0", Svc).unwrap().spawn()
}

/// Closes with `code` and returns the close frame the server answered
/// with (`None`: the connection ended without one, an abnormal closure).
async fn close_with(client: &mut Client, code: u16) -> Option<CloseFrame> {
    client
        .ws
        .send(Message::Close(Some(CloseFrame {
            code: CloseCode::from(code),
            reason: "bye".into(),
        })))
        .await
        .expect("the close frame goes out");
    loop {
        match client.ws.next().await {
            Some(Ok(Message::Close(frame))) => return frame,
            Some(Ok(_)) => {}
            Some(Err(_)) | None => return None,
        }
    }
}

#[tokio::test]
async fn a_client_that_closes_gets_the_servers_close_frame_back() {
    within(LIMIT, async {
        let server = start();
        let mut client = Client::connect(server.local_addr()).await;
        let frame = close_with(&mut client, 1000).await.expect("a clean close");
        assert_eq!(u16::from(frame.code), 1000);
        // The client sees the connection end cleanly.
        assert!(client.ws.next().await.is_none());
        server.shutdown_and_wait().await;
    })
    .await;
}

#[tokio::test]
async fn with_calls_in_flight_too() {
    within(LIMIT, async {
        let server = start();
        let mut client = Client::connect(server.local_addr()).await;
        client
            .send(r#"{"jsonrpc":"2.0","method":"sleep","params":[300],"id":1}"#)
            .await;
        tokio::time::sleep(Duration::from_millis(50)).await;
        let frame = close_with(&mut client, 1001).await.expect("a clean close");
        assert_eq!(u16::from(frame.code), 1001, "the code is echoed");
        server.shutdown_and_wait().await;
    })
    .await;
}

#[tokio::test]
async fn a_close_code_that_is_not_allowed_is_answered_with_1002() {
    within(LIMIT, async {
        let server = start();
        let mut client = Client::connect(server.local_addr()).await;
        let frame = close_with(&mut client, 999).await.expect("a close frame");
        assert_eq!(u16::from(frame.code), 1002);
        server.shutdown_and_wait().await;
    })
    .await;
}
