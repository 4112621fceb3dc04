use rpc_server::rpc_service;

struct Svc;

#[rpc_service]
impl Svc {
    fn echo<T: serde::Serialize>(&self, value: T) -> T {
        value
    }
}

fn main() {}
