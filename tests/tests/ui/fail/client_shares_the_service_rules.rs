// A client trait is checked by the rules its service follows: reserved and
// duplicate names, a notification that returns a value, `&RpcContext` twice.
use rpc_client::{RpcContext, rpc_client};

#[rpc_client]
trait Api {
    #[rpc(name = "rpc.ping")]
    async fn ping(&self) -> String;

    async fn add(&self, a: i64, b: i64) -> i64;

    #[rpc(name = "add")]
    async fn plus(&self, a: i64, b: i64) -> i64;

    #[rpc(notification)]
    async fn log(&self, line: String) -> u64;

    async fn whoami(&self, first: &RpcContext, second: &RpcContext) -> String;
}

fn main() {}
