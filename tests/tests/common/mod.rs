//! What the integration tests share: frames run through the protocol
//! engine (here), servers and authentication (`fixtures`), a bare HTTP client (`http`), a bare WebSocket client and
//! the timeout every socket test runs under (`ws`), and Redis (`redis`).

#![allow(dead_code, unreachable_pub)]

pub mod fixtures;
pub mod http;
pub mod redis;
pub mod ws;

use std::time::Duration;

use rpc_server::connect::ConnectionInfo;
use rpc_server::service::{Protocol, Service};
use serde_json::Value;

/// Runs one frame through `service` on a tokio runtime, failing the test if
/// it takes longer than 10 s.
pub fn handle<S: Service>(service: &S, frame: &str) -> Option<String> {
    handle_on(service, frame, ConnectionInfo::detached())
}

/// Like [`handle`], over a given connection (with its permissions, say).
pub fn handle_on<S: Service>(
    service: &S,
    frame: &str,
    connection: std::sync::Arc<ConnectionInfo>,
) -> Option<String> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        let protocol = Protocol::new();
        tokio::time::timeout(
            Duration::from_secs(10),
            protocol.handle(service, frame, &connection),
        )
        .await
        .expect("the protocol did not answer within 10 s")
        .map(|reply| reply.into_string())
    })
}

/// Calls `method` with `params` (raw JSON, or `None`) and returns the reply.
pub fn call<S: Service>(service: &S, method: &str, params: Option<&str>) -> Value {
    let params = params.map_or(String::new(), |p| format!(r#","params":{p}"#));
    let frame = format!(r#"{{"jsonrpc":"2.0","method":"{method}"{params},"id":1}}"#);
    let reply = handle(service, &frame).unwrap_or_else(|| panic!("no reply to {frame}"));
    serde_json::from_str(&reply).unwrap_or_else(|e| panic!("{reply} is not JSON: {e}"))
}

/// The result of a successful call.
#[track_caller]
pub fn result<S: Service>(service: &S, method: &str, params: Option<&str>) -> Value {
    let reply = call(service, method, params);
    assert!(reply.get("error").is_none(), "{method} failed: {reply}");
    reply["result"].clone()
}

/// The error object of a failed call.
#[track_caller]
pub fn error<S: Service>(service: &S, method: &str, params: Option<&str>) -> Value {
    let reply = call(service, method, params);
    assert!(reply.get("result").is_none(), "{method} succeeded: {reply}");
    reply["error"].clone()
}
