use futures_util::Stream;
use rpc_server::rpc_service;

struct Svc;

#[rpc_service]
impl Svc {
    #[rpc(subscription)]
    fn subscribe_ticks(&self) -> impl Stream<Item = u8> + Send + 'static {
        futures_util::stream::empty()
    }

    fn unsubscribe_ticks(&self) -> bool {
        true
    }
}

fn main() {}
