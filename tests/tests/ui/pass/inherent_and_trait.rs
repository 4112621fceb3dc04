use rpc_server::{rpc_service, Params, RpcContext, RpcError};
use rpc_server::service::Service;

struct Inherent;

#[rpc_service(namespace = "inherent")]
impl Inherent {
    async fn a(&self, x: i32, y: Option<i32>) -> i32 {
        x + y.unwrap_or(0)
    }
    fn b(&self, ctx: &RpcContext) -> String {
        ctx.method().to_owned()
    }
    fn c(&self, params: Params<'_>) -> Result<u32, RpcError> {
        params.parse::<Vec<u32>>().map(|v| v.len() as u32)
    }
}

trait Api {
    async fn ping(&self) -> &'static str;
    fn log(&self, line: String);
}

struct Impl;

#[rpc_service]
impl Api for Impl {
    async fn ping(&self) -> &'static str {
        "pong"
    }
    #[rpc(notification)]
    fn log(&self, line: String) {
        let _ = line;
    }
}

fn assert_service<S: Service>(_: &S) {}

fn main() {
    assert_service(&Inherent);
    assert_service(&Impl);
    // The user's methods are still ordinary methods.
    let _ = Inherent.b(&rpc_server::RpcContext::new("b", None, rpc_server::connect::ConnectionInfo::detached()));
}
