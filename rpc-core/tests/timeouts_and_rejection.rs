//! Timeouts (given a timer) and answering a frame without running it.

mod common;

use std::future::Ready;
use std::time::Duration;

use common::SpecService;
use rpc_core::{ConnectionInfo, ErrorCode, Protocol, RpcError, Timer};
use serde_json::Value;

/// A timer whose every sleep is already over: a method that is not done
/// at its first poll times out.
#[derive(Clone, Copy)]
struct Expired;

impl Timer for Expired {
    type Sleep = Ready<()>;
    fn sleep(&self, _: Duration) -> Ready<()> {
        std::future::ready(())
    }
}

fn run<T: Timer>(protocol: &Protocol<T>, frame: &str) -> Option<Value> {
    let connection = ConnectionInfo::detached();
    let reply =
        futures_executor::block_on(protocol.handle(&SpecService::default(), frame, &connection));
    reply.map(|r| serde_json::from_str(r.as_str()).expect("JSON"))
}

#[test]
fn a_method_past_its_timeout_is_request_timeout() {
    let protocol = Protocol::new()
        .with_timer(Expired)
        .with_default_timeout(Some(Duration::from_secs(60)));
    let reply = run(&protocol, r#"{"jsonrpc":"2.0","method":"wait","id":1}"#).unwrap();
    assert_eq!(reply["error"]["code"], -32002);
    assert_eq!(reply["id"], 1);
    // A method that finishes first is unaffected.
    let reply = run(
        &protocol,
        r#"{"jsonrpc":"2.0","method":"sum","params":[1,2],"id":2}"#,
    )
    .unwrap();
    assert_eq!(reply["result"], 3);
}

#[test]
fn without_a_default_timeout_nothing_times_out() {
    // The batch only completes if `wait` is not cut short.
    let protocol = Protocol::new()
        .with_timer(Expired)
        .with_default_timeout(None);
    let reply = run(
        &protocol,
        r#"[{"jsonrpc":"2.0","method":"wait","id":1},{"jsonrpc":"2.0","method":"release","id":2}]"#,
    )
    .unwrap();
    assert_eq!(reply[0]["result"], "released");
}

#[test]
fn a_timed_out_notification_gets_no_reply() {
    let protocol = Protocol::new()
        .with_timer(Expired)
        .with_default_timeout(Some(Duration::from_secs(1)));
    assert!(run(&protocol, r#"{"jsonrpc":"2.0","method":"wait"}"#).is_none());
}

fn reject(frame: &str) -> Option<Value> {
    let overloaded = RpcError::from_code(ErrorCode::SERVER_OVERLOADED);
    Protocol::new()
        .reject(frame.as_bytes(), &overloaded)
        .map(|r| serde_json::from_str(r.as_str()).expect("JSON"))
}

#[test]
fn reject_answers_each_call_with_the_error() {
    let reply = reject(r#"{"jsonrpc":"2.0","method":"sum","id":"a"}"#).unwrap();
    assert_eq!(reply["error"]["code"], -32003);
    assert_eq!(reply["id"], "a");
    let reply = reject(
        r#"[{"jsonrpc":"2.0","method":"sum","id":1},{"jsonrpc":"2.0","method":"update"},{"x":1}]"#,
    )
    .unwrap();
    assert_eq!(reply.as_array().map(Vec::len), Some(2));
    assert_eq!(reply[0]["error"]["code"], -32003);
    assert_eq!(reply[1]["error"]["code"], -32600);
}

#[test]
fn reject_says_nothing_to_notifications() {
    assert!(reject(r#"{"jsonrpc":"2.0","method":"update"}"#).is_none());
    assert!(reject(r#"[{"jsonrpc":"2.0","method":"update"}]"#).is_none());
}

#[test]
fn reject_keeps_the_whole_message_rules() {
    assert_eq!(reject("{").unwrap()["error"]["code"], -32700);
    assert_eq!(reject("[]").unwrap()["error"]["code"], -32600);
}
