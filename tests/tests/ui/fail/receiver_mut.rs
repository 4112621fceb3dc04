use rpc_server::rpc_service;

struct Svc;

#[rpc_service]
impl Svc {
    fn bump(&mut self) -> u32 {
        1
    }
}

fn main() {}
