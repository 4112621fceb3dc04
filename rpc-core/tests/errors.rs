//! Method errors: application errors pass through, unexpected ones are
//! sanitized, panics become INTERNAL_ERROR.

mod common;

use common::{error_code, handle_with, reply};
use rpc_core::Protocol;
use serde_json::json;

#[test]
fn application_error_keeps_its_code_message_and_data() {
    let r = reply(r#"{"jsonrpc":"2.0","method":"fail_app","id":1}"#);
    assert_eq!(
        r["error"],
        json!({"code": 4001, "message": "quota exceeded", "data": {"left": 0}})
    );
}

#[test]
fn internal_error_detail_never_reaches_the_client() {
    let r = reply(r#"{"jsonrpc":"2.0","method":"fail_internal","id":1}"#);
    assert_eq!(
        r["error"],
        json!({"code": -32603, "message": "Internal error"})
    );
}

#[test]
fn internal_error_detail_is_exposed_only_in_development_mode() {
    let text = handle_with(
        Protocol::new().expose_internal_errors(true),
        r#"{"jsonrpc":"2.0","method":"fail_internal","id":1}"#,
    )
    .unwrap();
    assert!(text.contains("hunter2"), "{text}");
}

#[test]
fn panic_while_dispatching_is_an_internal_error() {
    let r = reply(r#"{"jsonrpc":"2.0","method":"panic_now","id":1}"#);
    assert_eq!(
        r["error"],
        json!({"code": -32603, "message": "Internal error"})
    );
    assert_eq!(r["id"], 1);
}

#[test]
fn panic_while_running_is_an_internal_error() {
    let r = reply(r#"{"jsonrpc":"2.0","method":"panic_later","id":1}"#);
    assert_eq!(
        r["error"],
        json!({"code": -32603, "message": "Internal error"})
    );
}

#[test]
fn unserializable_result_is_parse_result_error() {
    let r = reply(r#"{"jsonrpc":"2.0","method":"unserializable","id":1}"#);
    assert_eq!(error_code(&r), -32701);
    assert!(
        r["error"].get("data").is_none(),
        "serde's message stays on the server"
    );
}

#[test]
fn invalid_params_says_what_was_wrong() {
    let r = reply(r#"{"jsonrpc":"2.0","method":"subtract","params":["x",1],"id":1}"#);
    assert_eq!(error_code(&r), -32602);
    let data = r["error"]["data"].as_str().unwrap_or_default();
    assert!(data.contains("invalid type"), "{data}");
    let r = reply(r#"{"jsonrpc":"2.0","method":"subtract","params":[1],"id":1}"#);
    assert_eq!(error_code(&r), -32602);
    let r =
        reply(r#"{"jsonrpc":"2.0","method":"subtract","params":{"minuend":1,"typo":2},"id":1}"#);
    assert_eq!(error_code(&r), -32602);
}
