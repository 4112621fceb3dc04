// One trait for both sides: what the server fills in (`&RpcContext`,
// `Peer`, `Params`) is not a parameter of the client's methods, and the
// client's methods keep the trait's parameter names.
use rpc_client::{rpc_client, Client, Peer, RpcContext};

#[rpc_client]
trait Greeter {
    async fn greet(&self, ctx: &RpcContext, peer: Peer, name: String) -> String;
    async fn shout(&self, name: String, peer: Peer) -> String;
}

async fn use_it(client: Client) {
    let greeter = GreeterClient::new(client);
    let _: Result<String, _> = greeter.greet("ada".to_owned()).await;
    let _: Result<String, _> = greeter.shout("ada".to_owned()).await;
}

fn main() {
    let _ = use_it;
}
