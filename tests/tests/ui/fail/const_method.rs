use rpc_server::rpc_service;

struct Svc;

#[rpc_service]
impl Svc {
    const fn fixed(&self) -> u32 {
        1
    }
}

fn main() {}
