//! The server over real sockets: calls, notifications, batches, binary
//! frames, subprotocols, concurrency.

use std::time::Duration;

use rpc_server::{RpcContext, rpc_service, serve};
use serde_json::json;
use ws::{Client, Received, within};

use crate::common::fixtures::LIMIT;
use crate::common::ws;

struct Calc;

#[rpc_service]
impl Calc {
    async fn add(&self, a: i64, b: i64) -> i64 {
        a + b
    }

    async fn sleep(&self, ms: u64) -> u64 {
        tokio::time::sleep(Duration::from_millis(ms)).await;
        ms
    }

    fn peer(&self, ctx: &RpcContext) -> String {
        ctx.remote_addr()
            .map(|a| a.ip().to_string())
            .unwrap_or_default()
    }

    #[rpc(notification)]
    fn note(&self) {}
}

#[tokio::test]
async fn calls_notifications_and_batches_over_websocket() {
    within(LIMIT, async {
        let server = serve("127.0.0.1:0", Calc).unwrap().spawn();
        let mut client = Client::connect(server.local_addr()).await;
        assert_eq!(client.call("add", json!([2, 3]), 1).await["result"], 5);
        assert_eq!(client.call("add", json!({"a": 2, "b": 3}), 2).await["result"], 5);
        assert_eq!(client.call("peer", json!([]), 3).await["result"], "127.0.0.1");

        // A notification gets nothing: the next thing received is the reply
        // to the call after it.
        client.send(r#"{"jsonrpc":"2.0","method":"note"}"#).await;
        assert_eq!(client.call("add", json!([1, 1]), 4).await["id"], 4);

        client
            .send(r#"[{"jsonrpc":"2.0","method":"add","params":[1,2],"id":"a"},{"jsonrpc":"2.0","method":"nope","id":"b"}]"#)
            .await;
        let batch = client.receive_json().await;
        assert_eq!(batch[0]["result"], 3);
        assert_eq!(batch[1]["error"]["code"], -32601);

        client.send("{oops").await;
        assert_eq!(client.receive_json().await["error"]["code"], -32700);
        server.shutdown_and_wait().await;
    })
    .await;
}

#[tokio::test]
async fn binary_frames_are_json_rpc_too_and_invalid_utf8_is_a_parse_error() {
    within(LIMIT, async {
        let server = serve("127.0.0.1:0", Calc).unwrap().spawn();
        let mut client = Client::connect(server.local_addr()).await;
        client
            .send_binary(br#"{"jsonrpc":"2.0","method":"add","params":[20,22],"id":1}"#)
            .await;
        // The reply is a text frame.
        match client.receive().await {
            Received::Text(text) => assert_eq!(text, r#"{"jsonrpc":"2.0","result":42,"id":1}"#),
            other => panic!("{other:?}"),
        }
        client
            .send_binary(b"{\"jsonrpc\":\"2.0\",\"method\":\"\xff\",\"id\":1}")
            .await;
        assert_eq!(client.receive_json().await["error"]["code"], -32700);
        // The connection carries on.
        assert_eq!(client.call("add", json!([1, 2]), 2).await["result"], 3);
        server.shutdown_and_wait().await;
    })
    .await;
}

#[tokio::test]
async fn replies_go_out_as_each_request_completes() {
    within(LIMIT, async {
        let server = serve("127.0.0.1:0", Calc).unwrap().spawn();
        let mut client = Client::connect(server.local_addr()).await;
        client
            .send(r#"{"jsonrpc":"2.0","method":"sleep","params":[500],"id":"slow"}"#)
            .await;
        client
            .send(r#"{"jsonrpc":"2.0","method":"sleep","params":[1],"id":"fast"}"#)
            .await;
        assert_eq!(client.receive_json().await["id"], "fast");
        assert_eq!(client.receive_json().await["id"], "slow");
        server.shutdown_and_wait().await;
    })
    .await;
}

#[tokio::test]
async fn json_rpc_subprotocols_are_accepted() {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
    within(LIMIT, async {
        let server = serve("127.0.0.1:0", Calc).unwrap().spawn();
        for offered in ["jsonrpc2.0", "chat, jsonrpc-2.0", "JSONRPC2.0"] {
            let mut request = format!("ws://{}", server.local_addr())
                .into_client_request()
                .unwrap();
            request
                .headers_mut()
                .insert("Sec-WebSocket-Protocol", offered.parse().unwrap());
            let (_ws, response) = tokio_tungstenite::connect_async(request)
                .await
                .expect("accepted");
            let chosen = response.headers().get("Sec-WebSocket-Protocol").unwrap();
            assert!(
                chosen
                    .to_str()
                    .unwrap()
                    .to_ascii_lowercase()
                    .starts_with("jsonrpc"),
                "{offered}: {chosen:?}"
            );
        }
        // A client that offers none gets none.
        let (_ws, response) =
            tokio_tungstenite::connect_async(format!("ws://{}", server.local_addr()))
                .await
                .unwrap();
        assert!(response.headers().get("Sec-WebSocket-Protocol").is_none());
        server.shutdown_and_wait().await;
    })
    .await;
}

#[tokio::test]
async fn the_address_is_known_before_running_and_bind_errors_surface() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap();
    assert!(serve(addr, Calc).is_err(), "the port is taken");
    let server = serve("127.0.0.1:0", Calc).unwrap();
    assert_ne!(server.local_addr().port(), 0, "the port chosen");
}
