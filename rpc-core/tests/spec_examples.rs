//! Every example in the "Examples" section of the JSON-RPC 2.0
//! specification, sent exactly as written.

mod common;

use common::{assert_reply, handle, reply};
use serde_json::json;

#[test]
fn rpc_call_with_positional_parameters() {
    assert_reply(
        &reply(r#"{"jsonrpc": "2.0", "method": "subtract", "params": [42, 23], "id": 1}"#),
        &json!({"jsonrpc": "2.0", "result": 19, "id": 1}),
    );
    assert_reply(
        &reply(r#"{"jsonrpc": "2.0", "method": "subtract", "params": [23, 42], "id": 2}"#),
        &json!({"jsonrpc": "2.0", "result": -19, "id": 2}),
    );
}

#[test]
fn rpc_call_with_named_parameters() {
    assert_reply(
        &reply(
            r#"{"jsonrpc": "2.0", "method": "subtract", "params": {"subtrahend": 23, "minuend": 42}, "id": 3}"#,
        ),
        &json!({"jsonrpc": "2.0", "result": 19, "id": 3}),
    );
    assert_reply(
        &reply(
            r#"{"jsonrpc": "2.0", "method": "subtract", "params": {"minuend": 42, "subtrahend": 23}, "id": 4}"#,
        ),
        &json!({"jsonrpc": "2.0", "result": 19, "id": 4}),
    );
}

#[test]
fn a_notification() {
    assert_eq!(
        handle(r#"{"jsonrpc": "2.0", "method": "update", "params": [1,2,3,4,5]}"#),
        None
    );
    assert_eq!(handle(r#"{"jsonrpc": "2.0", "method": "foobar"}"#), None);
}

#[test]
fn rpc_call_of_non_existent_method() {
    assert_reply(
        &reply(r#"{"jsonrpc": "2.0", "method": "foobar", "id": "1"}"#),
        &json!({"jsonrpc": "2.0", "error": {"code": -32601, "message": "Method not found"}, "id": "1"}),
    );
}

#[test]
fn rpc_call_with_invalid_json() {
    assert_reply(
        &reply(r#"{"jsonrpc": "2.0", "method": "foobar, "params": "bar", "baz]"#),
        &json!({"jsonrpc": "2.0", "error": {"code": -32700, "message": "Parse error"}, "id": null}),
    );
}

#[test]
fn rpc_call_with_invalid_request_object() {
    assert_reply(
        &reply(r#"{"jsonrpc": "2.0", "method": 1, "params": "bar"}"#),
        &json!({"jsonrpc": "2.0", "error": {"code": -32600, "message": "Invalid Request"}, "id": null}),
    );
}

#[test]
fn rpc_call_batch_with_invalid_json() {
    assert_reply(
        &reply(
            r#"[
  {"jsonrpc": "2.0", "method": "sum", "params": [1,2,4], "id": "1"},
  {"jsonrpc": "2.0", "method"
]"#,
        ),
        &json!({"jsonrpc": "2.0", "error": {"code": -32700, "message": "Parse error"}, "id": null}),
    );
}

#[test]
fn rpc_call_with_an_empty_array() {
    assert_reply(
        &reply("[]"),
        &json!({"jsonrpc": "2.0", "error": {"code": -32600, "message": "Invalid Request"}, "id": null}),
    );
}

#[test]
fn rpc_call_with_an_invalid_batch_but_not_empty() {
    assert_reply(
        &reply("[1]"),
        &json!([{"jsonrpc": "2.0", "error": {"code": -32600, "message": "Invalid Request"}, "id": null}]),
    );
}

#[test]
fn rpc_call_with_invalid_batch() {
    let invalid = json!({"jsonrpc": "2.0", "error": {"code": -32600, "message": "Invalid Request"}, "id": null});
    assert_reply(&reply("[1,2,3]"), &json!([invalid, invalid, invalid]));
}

#[test]
fn rpc_call_batch() {
    assert_reply(
        &reply(
            r#"[
        {"jsonrpc": "2.0", "method": "sum", "params": [1,2,4], "id": "1"},
        {"jsonrpc": "2.0", "method": "notify_hello", "params": [7]},
        {"jsonrpc": "2.0", "method": "subtract", "params": [42,23], "id": "2"},
        {"foo": "boo"},
        {"jsonrpc": "2.0", "method": "foo.get", "params": {"name": "myself"}, "id": "5"},
        {"jsonrpc": "2.0", "method": "get_data", "id": "9"} 
    ]"#,
        ),
        &json!([
            {"jsonrpc": "2.0", "result": 7, "id": "1"},
            {"jsonrpc": "2.0", "result": 19, "id": "2"},
            {"jsonrpc": "2.0", "error": {"code": -32600, "message": "Invalid Request"}, "id": null},
            {"jsonrpc": "2.0", "error": {"code": -32601, "message": "Method not found"}, "id": "5"},
            {"jsonrpc": "2.0", "result": ["hello", 5], "id": "9"}
        ]),
    );
}

#[test]
fn rpc_call_batch_all_notifications() {
    assert_eq!(
        handle(
            r#"[
        {"jsonrpc": "2.0", "method": "notify_sum", "params": [1,2,4]},
        {"jsonrpc": "2.0", "method": "notify_hello", "params": [7]}
    ]"#
        ),
        None
    );
}
