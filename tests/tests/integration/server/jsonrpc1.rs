//! The JSON-RPC 1.0 mode, over real sockets: off by default, and when on,
//! 1.0 requests answered in 1.0's shape while 2.0 is unchanged.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use rpc_server::{RpcError, Server, ServerHandle, rpc_service};
use serde_json::json;
use ws::{Client, Received, within};

use crate::common::fixtures::LIMIT;
use crate::common::http;
use crate::common::ws;

#[derive(Clone, Default)]
struct Calc {
    notes: Arc<AtomicU64>,
}

#[rpc_service]
impl Calc {
    fn subtract(&self, minuend: i64, subtrahend: i64) -> i64 {
        minuend - subtrahend
    }

    fn fail(&self) -> Result<(), RpcError> {
        Err(RpcError::application("failed").with_data(&7))
    }

    #[rpc(notification)]
    fn note(&self, _text: String) {
        self.notes.fetch_add(1, Ordering::SeqCst);
    }

    fn notes(&self) -> u64 {
        self.notes.load(Ordering::SeqCst)
    }

    #[rpc(subscription)]
    fn subscribe_ticks(&self) -> impl futures_util::Stream<Item = u8> + Send + 'static {
        futures_util::stream::empty()
    }
}

fn start(jsonrpc1: bool) -> ServerHandle {
    Server::builder()
        .jsonrpc1(jsonrpc1)
        .serve("127.0.0.1:0", Calc::default())
        .unwrap()
        .spawn()
}

/// Sends `request` and returns the text of the reply.
async fn exchange(client: &mut Client, request: &str) -> String {
    client.send(request).await;
    match client.receive().await {
        Received::Text(text) => text,
        Received::Closed(frame) => panic!("closed: {frame:?}"),
    }
}

#[tokio::test]
async fn when_on_1_0_requests_get_1_0_replies_byte_for_byte() {
    within(LIMIT, async {
        let server = start(true);
        let mut client = Client::connect(server.local_addr()).await;
        assert_eq!(
            exchange(
                &mut client,
                r#"{"method":"subtract","params":[42,23],"id":1}"#
            )
            .await,
            r#"{"result":19,"error":null,"id":1}"#
        );
        assert_eq!(
            exchange(&mut client, r#"{"method":"nope","params":[],"id":"a"}"#).await,
            r#"{"result":null,"error":{"code":-32601,"message":"Method not found"},"id":"a"}"#
        );
        assert_eq!(
            exchange(&mut client, r#"{"method":"fail","params":[],"id":2}"#).await,
            r#"{"result":null,"error":{"code":-32000,"message":"failed","data":7},"id":2}"#
        );
        // Params are an array in 1.0.
        let reply = exchange(
            &mut client,
            r#"{"method":"subtract","params":{"minuend":1},"id":3}"#,
        )
        .await;
        let reply: serde_json::Value = serde_json::from_str(&reply).unwrap();
        assert_eq!(reply["error"]["code"], -32600, "{reply}");
        assert_eq!(reply["result"], serde_json::Value::Null);
        assert!(reply.get("jsonrpc").is_none());
        // `"id": null` is a notification: run, never answered.
        client
            .send(r#"{"method":"note","params":["x"],"id":null}"#)
            .await;
        assert_eq!(
            exchange(&mut client, r#"{"method":"notes","params":[],"id":4}"#).await,
            r#"{"result":1,"error":null,"id":4}"#
        );
        // Subscriptions are 2.0 only; an invalid 1.0 notification is not
        // answered either.
        assert_eq!(
            exchange(&mut client, r#"{"method":"subscribe_ticks","params":[],"id":6}"#).await,
            r#"{"result":null,"error":{"code":-32600,"message":"Invalid Request","data":"subscriptions are JSON-RPC 2.0 only"},"id":6}"#
        );
        client
            .send(r#"{"method":"subtract","params":{"minuend":1},"id":null}"#)
            .await;
        // 2.0 is unchanged beside it.
        assert_eq!(
            exchange(
                &mut client,
                r#"{"jsonrpc":"2.0","method":"subtract","params":[42,23],"id":5}"#
            )
            .await,
            r#"{"jsonrpc":"2.0","result":19,"id":5}"#
        );
        server.shutdown_and_wait().await;
    })
    .await;
}

#[tokio::test]
async fn when_off_a_1_0_request_is_an_invalid_request() {
    within(LIMIT, async {
        let server = start(false);
        let mut client = Client::connect(server.local_addr()).await;
        let reply = client
            .call("subtract", json!([42, 23]), 1)
            .await;
        assert_eq!(reply["result"], 19, "2.0 works");
        assert_eq!(
            exchange(&mut client, r#"{"method":"subtract","params":[42,23],"id":1}"#).await,
            r#"{"jsonrpc":"2.0","error":{"code":-32600,"message":"Invalid Request","data":"\"jsonrpc\" is missing"},"id":1}"#
        );
        server.shutdown_and_wait().await;
    })
    .await;
}

#[tokio::test]
async fn over_http_too() {
    within(LIMIT, async {
        let server = start(true);
        let reply = http::post(
            server.local_addr(),
            r#"{"method":"subtract","params":[42,23],"id":1}"#,
        )
        .await;
        assert_eq!(reply.status, 200);
        assert_eq!(reply.body, r#"{"result":19,"error":null,"id":1}"#);
        let notification = http::post(
            server.local_addr(),
            r#"{"method":"note","params":["x"],"id":null}"#,
        )
        .await;
        assert_eq!(notification.status, 204);
        server.shutdown_and_wait().await;
    })
    .await;
}
