use rpc_server::rpc_service;

struct Svc;

#[rpc_service]
impl Svc {
    unsafe fn danger(&self) -> u32 {
        1
    }
}

fn main() {}
