use rpc_server::{rpc_service, Peer};

struct Svc;

#[rpc_service]
impl Svc {
    #[rpc(transport = "http")]
    async fn push(&self, peer: Peer) -> bool {
        peer.is_closed()
    }
}

fn main() {}
