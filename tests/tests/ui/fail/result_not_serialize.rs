use rpc_server::rpc_service;

struct Svc;

struct Opaque;

#[rpc_service]
impl Svc {
    fn give(&self) -> Opaque {
        Opaque
    }
}

fn main() {}
