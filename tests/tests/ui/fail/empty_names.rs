use rpc_server::rpc_service;

struct Svc;

#[rpc_service(namespace = "")]
impl Svc {
    #[rpc(name = "", permission = "")]
    fn nameless(&self) -> u32 {
        1
    }
}

fn main() {}
