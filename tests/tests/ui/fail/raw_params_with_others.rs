use rpc_server::{rpc_service, Params};

struct Svc;

#[rpc_service]
impl Svc {
    fn mixed(&self, params: Params<'_>, extra: u32) -> u32 {
        let _ = params;
        extra
    }
}

fn main() {}
