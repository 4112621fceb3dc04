use rpc_server::rpc_service;

struct Svc;

#[rpc_service]
impl Svc {
    #[rpc(rate = "10 per second")]
    async fn slow(&self) -> u32 {
        1
    }
}

fn main() {}
