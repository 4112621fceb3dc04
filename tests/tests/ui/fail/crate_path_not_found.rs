use rpc_server::rpc_service;

struct Calc;

#[rpc_service(crate = "no_such_crate")]
impl Calc {
    fn add(&self, a: i64, b: i64) -> i64 {
        a + b
    }
}

fn main() {}
