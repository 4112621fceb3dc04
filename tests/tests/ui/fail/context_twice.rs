use rpc_server::{rpc_service, RpcContext};

struct Svc;

#[rpc_service]
impl Svc {
    fn twice(&self, a: &RpcContext, b: &RpcContext) -> bool {
        a.method() == b.method()
    }
}

fn main() {}
