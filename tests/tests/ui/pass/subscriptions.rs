//! Every shape a subscription method may take.

use std::pin::Pin;

use futures_util::Stream;
use rpc_server::{RpcContext, RpcError, rpc_service};

type Ticks = Pin<Box<dyn Stream<Item = u64> + Send>>;

struct Svc;

#[rpc_service(namespace = "clock")]
impl Svc {
    /// A plain stream, notifications named after the method.
    #[rpc(subscription)]
    fn subscribe(&self, from: u64) -> impl Stream<Item = u64> + Send + 'static {
        futures_util::stream::iter(from..from + 3)
    }

    /// Async, refusing with an error, with a context and explicit names.
    #[rpc(subscription = "tick", unsubscribe = "stop_ticks", permission = "clock.read")]
    async fn ticks(
        &self,
        ctx: &RpcContext,
        every_ms: u64,
    ) -> Result<impl Stream<Item = String> + Send + 'static, RpcError> {
        let _ = ctx.connection_id();
        if every_ms == 0 {
            return Err(RpcError::invalid_params("every_ms must be positive"));
        }
        Ok(futures_util::stream::iter(["tick".to_owned()]))
    }

    /// A named stream type.
    #[rpc(subscription)]
    fn boxed(&self) -> Ticks {
        Box::pin(futures_util::stream::empty())
    }

    /// A named stream type in a `Result`.
    #[rpc(subscription)]
    fn boxed_or_not(&self) -> Result<Ticks, RpcError> {
        Ok(Box::pin(futures_util::stream::empty()))
    }
}

fn main() {
    use rpc_server::service::Service as _;
    let names: Vec<_> = Svc.methods().iter().map(|m| m.name).collect();
    assert_eq!(
        names,
        [
            "clock.subscribe",
            "clock.unsubscribe",
            "clock.ticks",
            "clock.stop_ticks",
            "clock.boxed",
            "clock.unsubscribe_boxed",
            "clock.boxed_or_not",
            "clock.unsubscribe_boxed_or_not",
        ]
    );
    let ticks = Svc.method("clock.ticks").unwrap().subscription.unwrap();
    assert_eq!((ticks.notification, ticks.unsubscribe), ("tick", "clock.stop_ticks"));
    assert_eq!(Svc.method("clock.stop_ticks").unwrap().permissions, ["clock.read"]);
}
