use rpc_server::rpc_service;

struct Svc;

#[rpc_service]
impl Svc {
    fn ping(&self) -> &'static str {
        "pong"
    }

    #[rpc(name = "ping")]
    fn other_ping(&self) -> &'static str {
        "pong"
    }
}

fn main() {}
