use rpc_server::rpc_service;

struct Svc<T>(T);

#[rpc_service]
impl<T: serde::Serialize + Clone + Send + Sync + 'static> Svc<T> {
    fn get(&self) -> T {
        self.0.clone()
    }
}

struct Borrowing<'a>(&'a str);

#[rpc_service]
impl<'a> Borrowing<'a> {
    fn ping(&self) -> u32 {
        1
    }
}

fn main() {}
