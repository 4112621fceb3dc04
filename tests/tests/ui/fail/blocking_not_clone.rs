use rpc_server::rpc_service;

struct Svc;

#[rpc_service]
impl Svc {
    #[rpc(blocking)]
    fn work(&self) -> u32 {
        1
    }
}

fn main() {}
