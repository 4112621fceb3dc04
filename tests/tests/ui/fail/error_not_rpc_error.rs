use rpc_server::rpc_service;

struct Svc;

struct MyError;

#[rpc_service]
impl Svc {
    fn fallible(&self) -> Result<u32, MyError> {
        Err(MyError)
    }
}

fn main() {}
