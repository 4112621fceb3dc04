use rpc_server::rpc_service;

struct Svc;

#[rpc_service]
impl Svc {
    extern "C" fn foreign(&self) -> u32 {
        1
    }
}

fn main() {}
