use rpc_server::rpc_service;

struct Svc;

#[rpc_service]
impl Svc {
    fn add(&self, (a, b): (i32, i32)) -> i32 {
        a + b
    }
}

fn main() {}
