//! The frame target's logic, shared by the fuzz target and by the test
//! that replays the corpus (`tests/tests/fuzz_corpus.rs`).

use rpc_server::connect::ConnectionInfo;
use rpc_server::service::Protocol;
use rpc_server::{Params, RpcContext, RpcError, rpc_service};

struct Target;

#[rpc_service]
impl Target {
    fn subtract(&self, minuend: i64, subtrahend: i64) -> i64 {
        minuend.wrapping_sub(subtrahend)
    }

    fn sum(&self, numbers: Params<'_>) -> Result<f64, RpcError> {
        Ok(numbers.parse::<Vec<f64>>()?.iter().sum())
    }

    fn greet(&self, name: String, title: Option<String>, ctx: &RpcContext) -> String {
        format!("{} {name} ({})", title.unwrap_or_default(), ctx.method())
    }

    fn echo(&self, value: serde_json::Value) -> serde_json::Value {
        value
    }

    #[rpc(notification)]
    fn note(&self, _line: String) {}
}

/// Any frame into the entry point: never a panic, and a reply is always
/// well-formed JSON.
pub(crate) fn run(data: &[u8]) {
    let connection = ConnectionInfo::detached();
    let reply =
        futures_executor::block_on(Protocol::new().handle_bytes(&Target, data, &connection));
    if let Some(reply) = reply {
        let parsed: serde_json::Value =
            serde_json::from_str(reply.as_str()).expect("every reply is JSON");
        assert!(parsed.is_object() || parsed.is_array());
    }
}
