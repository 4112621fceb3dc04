use rpc_server::rpc_service;

struct Svc;

// Every mistake is reported, each at its own tokens.
#[rpc_service]
impl Svc {
    fn one(self) {}

    #[rpc(timeout = "soon")]
    fn two(&self) {}

    #[rpc(name = "rpc.three")]
    fn three(&self) {}
}

fn main() {}
