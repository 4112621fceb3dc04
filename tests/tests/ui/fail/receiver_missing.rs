use rpc_server::rpc_service;

struct Svc;

#[rpc_service]
impl Svc {
    fn version() -> u32 {
        1
    }
}

fn main() {}
