use rpc_server::rpc_service;

struct Svc<T>(T);

#[rpc_service]
impl<T: Send + Sync + 'static> Svc<T> {
    fn ping(&self) -> u32 {
        1
    }
}

fn main() {}
