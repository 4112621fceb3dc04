use rpc_server::rpc_service;

#[rpc_service]
fn ping() -> u32 {
    1
}

fn main() {}
