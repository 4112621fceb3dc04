use rpc_server::rpc_service;

struct Svc;

#[rpc_service]
impl Svc {
    #[rpc(subscription)]
    fn subscribe_ticks(&self) {}
}

fn main() {}
