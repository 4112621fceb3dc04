use rpc_server::rpc_service;

struct Svc;

#[rpc_service]
impl Svc {
    #[rpc(name = "rpc.discover")]
    fn discover(&self) -> u32 {
        1
    }
}

fn main() {}
