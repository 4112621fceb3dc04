use rpc_server::rpc_service;

struct Svc;

#[rpc_service]
impl Svc {
    fn greet(&self, name: &str) -> String {
        format!("hello {name}")
    }

    fn sum(&self, numbers: &[i64]) -> i64 {
        numbers.iter().sum()
    }
}

fn main() {}
