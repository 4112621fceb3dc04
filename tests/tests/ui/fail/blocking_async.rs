use rpc_server::rpc_service;

#[derive(Clone)]
struct Svc;

#[rpc_service]
impl Svc {
    #[rpc(blocking)]
    async fn work(&self) -> u32 {
        1
    }
}

fn main() {}
