use rpc_server::rpc_service;

struct Svc;

#[rpc_service(titel = "Calculator")]
impl Svc {
    fn ping(&self) -> u32 {
        1
    }
}

fn main() {}
