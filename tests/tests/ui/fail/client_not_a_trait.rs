use rpc_client::rpc_client;

#[rpc_client]
struct NotATrait;

fn main() {}
