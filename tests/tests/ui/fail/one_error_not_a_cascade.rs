use rpc_server::{rpc_service, serve};

struct Svc;

// The mistake is reported once, here: not again where the service is used.
#[rpc_service]
impl Svc {
    fn ping(self) -> u32 {
        1
    }
}

fn main() {
    let _ = serve("127.0.0.1:0", Svc);
}
