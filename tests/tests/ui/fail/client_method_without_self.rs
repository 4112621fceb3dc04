use rpc_client::rpc_client;

#[rpc_client]
trait Api {
    fn make() -> Self;
}

fn main() {}
