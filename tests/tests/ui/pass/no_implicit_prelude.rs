// Generated code uses absolute paths only.
#![no_implicit_prelude]

extern crate rpc_server;
extern crate std;

use std::string::String;

struct Svc;

#[rpc_server::rpc_service]
impl Svc {
    async fn greet(&self, name: String, title: std::option::Option<String>) -> String {
        let _ = title;
        name
    }

    fn fallible(&self) -> std::result::Result<u8, rpc_server::RpcError> {
        std::result::Result::Ok(1)
    }

    #[rpc(notification)]
    fn note(&self, ctx: &rpc_server::RpcContext) {
        let _ = ctx;
    }

    #[rpc(timeout = "1s", permission = "x")]
    fn nothing(&self) {}
}

fn main() {}
