use rpc_server::rpc_service;

struct Svc;

#[rpc_service]
impl Svc {
    #[rpc(nmae = "pong")]
    fn ping(&self) -> u32 {
        1
    }
}

fn main() {
    // The impl is still emitted: using the method adds no error.
    let _ = Svc.ping();
}
