use rpc_server::rpc_service;

struct Svc;

#[rpc_service]
impl Svc {
    #[rpc(timeout = "5 seconds")]
    async fn slow(&self) -> u32 {
        1
    }
}

fn main() {}
