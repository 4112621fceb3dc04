use rpc_server::rpc_service;

struct Svc;

#[rpc_service]
impl Svc {
    #[rpc(notification)]
    fn log(&self, line: String) -> String {
        line
    }
}

fn main() {}
