use futures_util::Stream;
use rpc_server::rpc_service;

struct Svc;

#[rpc_service]
impl Svc {
    #[rpc(subscription)]
    fn subscribe_ticks(&self) -> impl Stream + Send + 'static {
        futures_util::stream::iter([1, 2, 3])
    }
}

fn main() {}
