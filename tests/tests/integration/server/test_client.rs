//! The in-memory harness runs the same pipeline as the server: limits,
//! timeouts, sanitizing, notifications.

use std::time::Duration;

use rpc_server::config::Limits;
use rpc_server::testing::TestClient;
use rpc_server::{RpcError, ServerConfig, rpc_service};
use serde_json::json;

struct Svc;

#[rpc_service]
impl Svc {
    async fn add(&self, a: i64, b: i64) -> i64 {
        a + b
    }

    async fn slow(&self) -> u8 {
        tokio::time::sleep(Duration::from_secs(10)).await;
        1
    }

    fn secret(&self) -> Result<u8, RpcError> {
        Err(RpcError::internal("password=hunter2"))
    }

    #[rpc(notification)]
    fn note(&self, _text: String) {}
}

#[tokio::test]
async fn calls_by_position_and_by_name() {
    let client = TestClient::new(Svc);
    assert_eq!(client.call::<i64>("add", (1, 2)).await.unwrap(), 3);
    assert_eq!(
        client
            .call::<i64>("add", json!({"a": 5, "b": 6}))
            .await
            .unwrap(),
        11
    );
    let err = client.call::<i64>("add", [1]).await.unwrap_err();
    assert_eq!(err.code().code(), -32602);
    let err = client.call::<i64>("nope", ()).await.unwrap_err();
    assert_eq!(err.code().code(), -32601);
}

#[tokio::test]
async fn notifications_and_raw_frames() {
    let client = TestClient::new(Svc);
    client.notify("note", ["hi"]).await.unwrap();
    assert_eq!(
        client
            .request(r#"{"jsonrpc":"2.0","method":"add","params":[1,1],"id":"x"}"#)
            .await
            .as_deref(),
        Some(r#"{"jsonrpc":"2.0","result":2,"id":"x"}"#)
    );
}

#[tokio::test]
async fn the_server_configuration_applies() {
    let mut config = ServerConfig::default();
    config.request_timeout = Some(Duration::from_millis(50));
    config.limits = Limits::default().with_max_array_items(1);
    let client = TestClient::with_config(Svc, config);
    let err = client.call::<u8>("slow", ()).await.unwrap_err();
    assert_eq!(err.code().code(), -32002);
    let err = client.call::<i64>("add", (1, 2)).await.unwrap_err();
    assert_eq!(err.code().code(), -32001);
    let err = client.call::<u8>("secret", ()).await.unwrap_err();
    assert_eq!(err.message(), "Internal error");
    assert!(err.data().is_none());
}

struct Guarded;

#[rpc_service]
impl Guarded {
    #[rpc(permission = "admin")]
    fn secret(&self, ctx: &rpc_server::RpcContext) -> String {
        ctx.extensions()
            .get::<&'static str>()
            .copied()
            .unwrap_or("nobody")
            .to_owned()
    }
}

#[tokio::test]
async fn a_connection_can_be_given_permissions_and_extensions() {
    use rpc_server::connect::{ConnectionInfo, Extensions, Permissions};
    let anonymous = TestClient::new(Guarded);
    assert_eq!(
        anonymous
            .call::<String>("secret", ())
            .await
            .unwrap_err()
            .code()
            .code(),
        -32601
    );
    let mut extensions = Extensions::new();
    extensions.insert("ada");
    let admin = TestClient::new(Guarded).with_connection(
        ConnectionInfo::new()
            .with_permissions(Permissions::from_iter(["admin"]))
            .with_extensions(extensions),
    );
    assert_eq!(admin.call::<String>("secret", ()).await.unwrap(), "ada");
}

#[tokio::test]
async fn a_builder_test_client_runs_the_middleware() {
    use rpc_server::Server;
    use rpc_server::middleware::{Call, MethodFuture, Middleware, Next};
    struct Deny;
    impl Middleware for Deny {
        fn handle<'a>(&'a self, _call: Call<'a>, _next: Next<'a>) -> MethodFuture<'a> {
            MethodFuture::err(RpcError::new(4030, "denied"))
        }
    }
    let client = Server::builder().middleware(Deny).test_client(Svc);
    assert_eq!(
        client
            .call::<i64>("add", (1, 2))
            .await
            .unwrap_err()
            .code()
            .code(),
        4030
    );
}
