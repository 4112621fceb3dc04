use rpc_client::rpc_client;

#[rpc_client]
trait Ticks {
    #[rpc(subscription)]
    async fn subscribe_ticks(&self) -> u64;
}

fn main() {}
