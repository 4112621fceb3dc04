//! The JSON-RPC 2.0 specification's examples, served by a `#[rpc_service]`
//! trait impl and sent exactly as written.

use common::handle;
use rpc_server::{Params, RpcError, rpc_service};
use serde_json::{Value, json};

use crate::common;

trait SpecApi {
    async fn subtract(&self, minuend: i64, subtrahend: i64) -> i64;
    fn sum(&self, numbers: Params<'_>) -> Result<i64, RpcError>;
    fn update(&self, values: Params<'_>);
    fn notify_hello(&self, value: i64);
    fn notify_sum(&self, numbers: Params<'_>);
    fn get_data(&self) -> (String, i64);
}

struct Spec;

#[rpc_service]
impl SpecApi for Spec {
    async fn subtract(&self, minuend: i64, subtrahend: i64) -> i64 {
        minuend - subtrahend
    }

    fn sum(&self, numbers: Params<'_>) -> Result<i64, RpcError> {
        Ok(numbers.parse::<Vec<i64>>()?.iter().sum())
    }

    #[rpc(notification)]
    fn update(&self, _values: Params<'_>) {}

    #[rpc(notification)]
    fn notify_hello(&self, _value: i64) {}

    #[rpc(notification)]
    fn notify_sum(&self, _numbers: Params<'_>) {}

    fn get_data(&self) -> (String, i64) {
        ("hello".to_owned(), 5)
    }
}

fn reply(frame: &str) -> Value {
    let text = handle(&Spec, frame).unwrap_or_else(|| panic!("no reply to {frame}"));
    let mut value: Value = serde_json::from_str(&text).expect("JSON");
    strip_data(&mut value);
    value
}

/// The specification's examples carry no `error.data`; ours explains.
fn strip_data(value: &mut Value) {
    match value {
        Value::Array(items) => items.iter_mut().for_each(strip_data),
        Value::Object(obj) => {
            if let Some(Value::Object(error)) = obj.get_mut("error") {
                error.remove("data");
            }
        }
        _ => {}
    }
}

#[test]
fn positional_parameters() {
    assert_eq!(
        reply(r#"{"jsonrpc": "2.0", "method": "subtract", "params": [42, 23], "id": 1}"#),
        json!({"jsonrpc": "2.0", "result": 19, "id": 1})
    );
    assert_eq!(
        reply(r#"{"jsonrpc": "2.0", "method": "subtract", "params": [23, 42], "id": 2}"#),
        json!({"jsonrpc": "2.0", "result": -19, "id": 2})
    );
}

#[test]
fn named_parameters() {
    assert_eq!(
        reply(
            r#"{"jsonrpc": "2.0", "method": "subtract", "params": {"subtrahend": 23, "minuend": 42}, "id": 3}"#
        ),
        json!({"jsonrpc": "2.0", "result": 19, "id": 3})
    );
    assert_eq!(
        reply(
            r#"{"jsonrpc": "2.0", "method": "subtract", "params": {"minuend": 42, "subtrahend": 23}, "id": 4}"#
        ),
        json!({"jsonrpc": "2.0", "result": 19, "id": 4})
    );
}

#[test]
fn notifications() {
    assert_eq!(
        handle(
            &Spec,
            r#"{"jsonrpc": "2.0", "method": "update", "params": [1,2,3,4,5]}"#
        ),
        None
    );
    assert_eq!(
        handle(&Spec, r#"{"jsonrpc": "2.0", "method": "foobar"}"#),
        None
    );
}

#[test]
fn non_existent_method() {
    assert_eq!(
        reply(r#"{"jsonrpc": "2.0", "method": "foobar", "id": "1"}"#),
        json!({"jsonrpc": "2.0", "error": {"code": -32601, "message": "Method not found"}, "id": "1"})
    );
}

#[test]
fn batch() {
    assert_eq!(
        reply(
            r#"[
        {"jsonrpc": "2.0", "method": "sum", "params": [1,2,4], "id": "1"},
        {"jsonrpc": "2.0", "method": "notify_hello", "params": [7]},
        {"jsonrpc": "2.0", "method": "subtract", "params": [42,23], "id": "2"},
        {"foo": "boo"},
        {"jsonrpc": "2.0", "method": "foo.get", "params": {"name": "myself"}, "id": "5"},
        {"jsonrpc": "2.0", "method": "get_data", "id": "9"} 
    ]"#
        ),
        json!([
            {"jsonrpc": "2.0", "result": 7, "id": "1"},
            {"jsonrpc": "2.0", "result": 19, "id": "2"},
            {"jsonrpc": "2.0", "error": {"code": -32600, "message": "Invalid Request"}, "id": null},
            {"jsonrpc": "2.0", "error": {"code": -32601, "message": "Method not found"}, "id": "5"},
            {"jsonrpc": "2.0", "result": ["hello", 5], "id": "9"}
        ])
    );
}

#[test]
fn batch_of_notifications() {
    assert_eq!(
        handle(
            &Spec,
            r#"[
        {"jsonrpc": "2.0", "method": "notify_sum", "params": [1,2,4]},
        {"jsonrpc": "2.0", "method": "notify_hello", "params": [7]}
    ]"#
        ),
        None
    );
}
