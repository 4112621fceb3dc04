use futures_util::Stream;
use rpc_server::rpc_service;

struct Tick;

struct Svc;

#[rpc_service]
impl Svc {
    #[rpc(subscription)]
    fn subscribe_ticks(&self) -> impl Stream<Item = Tick> + Send + 'static {
        futures_util::stream::iter([Tick])
    }
}

fn main() {}
