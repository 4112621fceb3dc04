use rpc_server::rpc_service;

struct Svc;

#[rpc_service]
impl Svc {
    #[rpc(name = "a", name = "b")]
    fn twice(&self) -> u32 {
        1
    }
}

fn main() {}
