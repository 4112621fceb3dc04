use rpc_server::rpc_service;

struct Svc;

#[rpc_service]
impl Svc {
    #[rpc(transport = "carrier-pigeon")]
    fn ping(&self) -> u32 {
        1
    }
}

fn main() {}
