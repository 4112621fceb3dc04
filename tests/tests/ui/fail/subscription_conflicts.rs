use futures_util::Stream;
use rpc_server::rpc_service;

#[derive(Clone)]
struct Svc;

#[rpc_service]
impl Svc {
    #[rpc(subscription, notification)]
    fn subscribe_a(&self) -> impl Stream<Item = u8> + Send + 'static {
        futures_util::stream::empty()
    }

    #[rpc(subscription, blocking)]
    fn subscribe_b(&self) -> impl Stream<Item = u8> + Send + 'static {
        futures_util::stream::empty()
    }

    #[rpc(subscription, transport = "http")]
    fn subscribe_c(&self) -> impl Stream<Item = u8> + Send + 'static {
        futures_util::stream::empty()
    }

    #[rpc(unsubscribe = "stop")]
    fn not_a_subscription(&self) -> u8 {
        0
    }
}

fn main() {}
