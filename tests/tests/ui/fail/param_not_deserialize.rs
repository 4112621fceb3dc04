use rpc_server::rpc_service;

struct Svc;

struct Opaque;

#[rpc_service]
impl Svc {
    fn take(&self, value: Opaque) -> u32 {
        let _ = value;
        1
    }
}

fn main() {}
