//! Each validation rule of the JSON-RPC 2.0 specification, one test each.

mod common;

use common::{error_code, handle, reply};

const INVALID_REQUEST: i64 = -32600;
const PARSE_ERROR: i64 = -32700;

#[test]
fn jsonrpc_must_be_the_string_2_0() {
    for version in [r#""1.0""#, r#""2""#, "2.0", "2", "null", r#"" 2.0""#] {
        let r = reply(&format!(
            r#"{{"jsonrpc":{version},"method":"get_data","id":1}}"#
        ));
        assert_eq!(error_code(&r), INVALID_REQUEST, "jsonrpc {version}");
        assert_eq!(r["id"], 1, "a readable id is echoed on Invalid Request");
    }
}

#[test]
fn jsonrpc_member_is_required() {
    let r = reply(r#"{"method":"get_data","id":1}"#);
    assert_eq!(error_code(&r), INVALID_REQUEST);
}

#[test]
fn method_must_be_a_string() {
    for method in ["1", "null", "[]", "{}", "true"] {
        let r = reply(&format!(r#"{{"jsonrpc":"2.0","method":{method},"id":1}}"#));
        assert_eq!(error_code(&r), INVALID_REQUEST, "method {method}");
    }
    let r = reply(r#"{"jsonrpc":"2.0","id":1}"#);
    assert_eq!(error_code(&r), INVALID_REQUEST, "method missing");
}

#[test]
fn params_when_present_must_be_array_or_object() {
    for params in ["null", "1", r#""a""#, "true"] {
        let r = reply(&format!(
            r#"{{"jsonrpc":"2.0","method":"get_data","params":{params},"id":1}}"#
        ));
        assert_eq!(error_code(&r), INVALID_REQUEST, "params {params}");
    }
    for params in ["[]", "{}"] {
        let r = reply(&format!(
            r#"{{"jsonrpc":"2.0","method":"get_data","params":{params},"id":1}}"#
        ));
        assert_eq!(
            r["result"],
            serde_json::json!(["hello", 5]),
            "params {params}"
        );
    }
}

#[test]
fn id_of_wrong_type_is_invalid_and_answered_with_null() {
    for id in ["true", "false", "{}", "[]", "[1]", r#"{"a":1}"#] {
        let r = reply(&format!(
            r#"{{"jsonrpc":"2.0","method":"get_data","id":{id}}}"#
        ));
        assert_eq!(error_code(&r), INVALID_REQUEST, "id {id}");
        assert!(r["id"].is_null(), "id {id}");
    }
}

#[test]
fn null_id_is_a_call_and_gets_a_response() {
    let text = handle(r#"{"jsonrpc":"2.0","method":"get_data","id":null}"#).unwrap();
    assert_eq!(text, r#"{"jsonrpc":"2.0","result":["hello",5],"id":null}"#);
}

#[test]
fn notification_never_gets_a_reply_even_on_error() {
    for frame in [
        r#"{"jsonrpc":"2.0","method":"no_such_method"}"#,
        r#"{"jsonrpc":"2.0","method":"subtract","params":["a","b"]}"#,
        r#"{"jsonrpc":"2.0","method":"fail_internal"}"#,
        r#"{"jsonrpc":"2.0","method":"panic_now"}"#,
        r#"{"jsonrpc":"2.0","method":"panic_later"}"#,
    ] {
        assert_eq!(handle(frame), None, "{frame}");
    }
}

#[test]
fn invalid_request_without_id_is_still_answered() {
    // Only a *valid* request without an id is a notification.
    let r = reply(r#"{"jsonrpc":"1.0","method":"update"}"#);
    assert_eq!(error_code(&r), INVALID_REQUEST);
    assert!(r["id"].is_null());
}

#[test]
fn non_request_values_are_invalid_requests() {
    for frame in ["1", r#""hello""#, "null", "true", "{}"] {
        let r = reply(frame);
        assert_eq!(error_code(&r), INVALID_REQUEST, "{frame}");
    }
}

/// A response that matches no call in flight is dropped, not answered:
/// two peers answering each other's stray responses would never stop.
#[test]
fn a_response_object_is_dropped_without_a_reply() {
    for frame in [
        r#"{"jsonrpc":"2.0","result":19,"id":7}"#,
        r#"{"jsonrpc":"2.0","error":{"code":-32600,"message":"x"},"id":1}"#,
        r#"{"jsonrpc":"2.0","result":null,"id":null}"#,
        r#"[{"jsonrpc":"2.0","result":1,"id":1},{"jsonrpc":"2.0","result":2,"id":2}]"#,
    ] {
        assert_eq!(handle(frame), None, "{frame}");
    }
}

#[test]
fn invalid_json_is_a_parse_error_with_null_id() {
    for frame in [
        "",
        "   ",
        "{",
        r#"{"jsonrpc":"2.0",}"#,
        "[1,]",
        "nul",
        r#"{"a":1} x"#,
        "\u{feff}{}",
    ] {
        let r = reply(frame);
        assert_eq!(error_code(&r), PARSE_ERROR, "{frame:?}");
        assert!(r["id"].is_null());
    }
}

#[test]
fn invalid_utf8_is_a_parse_error() {
    let text = common::handle_with(
        rpc_core::Protocol::new(),
        b"{\"jsonrpc\":\"2.0\",\"method\":\"\xff\",\"id\":1}".to_vec(),
    )
    .unwrap();
    let r: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(error_code(&r), PARSE_ERROR);
}

#[test]
fn duplicate_members_are_invalid() {
    let r = reply(r#"{"jsonrpc":"2.0","method":"get_data","id":1,"id":2}"#);
    assert_eq!(error_code(&r), INVALID_REQUEST);
}

#[test]
fn unknown_members_are_ignored() {
    let r = reply(r#"{"jsonrpc":"2.0","method":"get_data","id":1,"meta":{"trace":[1,2]}}"#);
    assert_eq!(r["result"], serde_json::json!(["hello", 5]));
}

#[test]
fn whitespace_around_the_message_is_allowed() {
    let r = reply(" \n\t{\"jsonrpc\":\"2.0\",\"method\":\"get_data\",\"id\":1}\r\n ");
    assert_eq!(r["result"], serde_json::json!(["hello", 5]));
}

#[test]
fn escaped_method_name_is_decoded_before_dispatch() {
    let r = reply(r#"{"jsonrpc":"2.0","method":"get\u005fdata","id":1}"#);
    assert_eq!(r["result"], serde_json::json!(["hello", 5]));
}

#[test]
fn params_omitted_are_as_empty() {
    let r = reply(r#"{"jsonrpc":"2.0","method":"sum","id":1}"#);
    assert_eq!(r["result"], 0);
}

#[test]
fn success_reply_has_exactly_jsonrpc_result_id() {
    let r = reply(r#"{"jsonrpc":"2.0","method":"subtract","params":[2,1],"id":1}"#);
    let keys: Vec<_> = r.as_object().unwrap().keys().cloned().collect();
    assert_eq!(keys.len(), 3);
    assert!(r.get("error").is_none());
    assert_eq!(r["jsonrpc"], "2.0");
}

#[test]
fn error_reply_has_exactly_jsonrpc_error_id() {
    let r = reply(r#"{"jsonrpc":"2.0","method":"nope","id":1}"#);
    assert!(r.get("result").is_none());
    assert_eq!(r.as_object().unwrap().len(), 3);
    assert!(r["error"]["message"].is_string());
}
