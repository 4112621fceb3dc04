//! Each limit tripped: REQUEST_TOO_LARGE with the id when it can be read,
//! and the limit's value passes.

mod common;

use common::{error_code, handle_with};
use rpc_core::{Limits, Protocol};
use serde_json::Value;

const TOO_LARGE: i64 = -32001;

fn reply_with(limits: Limits, frame: &str) -> Value {
    let text = handle_with(Protocol::new().with_limits(limits), frame).expect("a reply");
    serde_json::from_str(&text).expect("JSON reply")
}

fn call(params: &str) -> String {
    format!(r#"{{"jsonrpc":"2.0","method":"sum","params":{params},"id":"c"}}"#)
}

fn nested(depth: usize) -> String {
    format!("[{}{}]", "[".repeat(depth - 1), "]".repeat(depth - 1))
}

#[test]
fn default_limits_are_the_documented_ones() {
    let limits = Limits::default();
    assert_eq!(limits.max_message_size, 10 * 1024 * 1024);
    assert_eq!(limits.max_array_items, 10_000);
    assert_eq!(limits.max_string_length, 1024 * 1024);
    assert_eq!(limits.max_depth, 20);
    assert_eq!(limits.max_method_name_length, 256);
    assert_eq!(limits.max_batch_size, 100);
}

#[test]
fn message_over_max_size_is_refused_before_parsing() {
    let frame = call("[1,2,3]");
    let limits = Limits::default().with_max_message_size(frame.len() - 1);
    let r = reply_with(limits.clone(), &frame);
    assert_eq!(error_code(&r), TOO_LARGE);
    assert!(
        r["id"].is_null(),
        "the id is not read from an oversized message"
    );
    // Not even parsed: invalid JSON of the same size is refused the same way.
    let garbage = "x".repeat(frame.len());
    assert_eq!(error_code(&reply_with(limits.clone(), &garbage)), TOO_LARGE);
    // At the limit it runs.
    let r = reply_with(limits.with_max_message_size(frame.len()), &frame);
    assert_eq!(r["result"], 6);
}

#[test]
fn default_message_limit_is_10_mib() {
    let padding = " ".repeat(10 * 1024 * 1024);
    let r = reply_with(Limits::default(), &format!("{}{padding}", call("[1]")));
    assert_eq!(error_code(&r), TOO_LARGE);
}

#[test]
fn array_items_over_limit() {
    let limits = Limits::default().with_max_array_items(100);
    let ones = |n: usize| format!("[{}]", vec!["1"; n].join(","));
    assert_eq!(reply_with(limits.clone(), &call(&ones(100)))["result"], 100);
    let r = reply_with(limits, &call(&ones(101)));
    assert_eq!(error_code(&r), TOO_LARGE);
    assert_eq!(r["id"], "c");
}

#[test]
fn default_array_limit_is_ten_thousand() {
    let ones = |n: usize| format!("[{}]", vec!["1"; n].join(","));
    assert_eq!(
        reply_with(Limits::default(), &call(&ones(10_000)))["result"],
        10_000
    );
    let r = reply_with(Limits::default(), &call(&ones(10_001)));
    assert_eq!(error_code(&r), TOO_LARGE);
}

#[test]
fn string_over_limit_in_params() {
    let limits = Limits::default().with_max_string_length(64);
    let frame = |len: usize| {
        format!(
            r#"{{"jsonrpc":"2.0","method":"subtract","params":["{}", 1],"id":1}}"#,
            "a".repeat(len)
        )
    };
    // 64 bytes is within the limit (and then fails to decode as a number).
    assert_eq!(error_code(&reply_with(limits.clone(), &frame(64))), -32602);
    let r = reply_with(limits, &frame(65));
    assert_eq!(error_code(&r), TOO_LARGE);
    assert_eq!(r["id"], 1);
}

#[test]
fn default_string_limit_is_one_mib() {
    let frame = format!(
        r#"{{"jsonrpc":"2.0","method":"sum","params":{{"k":"{}"}},"id":1}}"#,
        "a".repeat(1024 * 1024 + 1)
    );
    assert_eq!(
        error_code(&reply_with(Limits::default(), &frame)),
        TOO_LARGE
    );
}

#[test]
fn string_id_over_limit() {
    let limits = Limits::default().with_max_string_length(8);
    let frame = |id: &str| format!(r#"{{"jsonrpc":"2.0","method":"get_data","id":"{id}"}}"#);
    assert_eq!(
        reply_with(limits.clone(), &frame("12345678"))["id"],
        "12345678"
    );
    assert_eq!(
        error_code(&reply_with(limits, &frame("123456789"))),
        TOO_LARGE
    );
}

#[test]
fn nesting_deeper_than_limit() {
    let limits = Limits::default();
    // params itself is level 1; twenty levels pass (and fail to decode).
    let r = reply_with(limits.clone(), &call(&nested(20)));
    assert_eq!(error_code(&r), -32602);
    let r = reply_with(limits, &call(&nested(21)));
    assert_eq!(error_code(&r), TOO_LARGE);
    assert_eq!(r["id"], "c");
}

#[test]
fn hostile_nesting_is_refused_without_overflowing_the_stack() {
    let r = reply_with(Limits::default(), &call(&nested(100_000)));
    assert_eq!(error_code(&r), TOO_LARGE);
    // Deep nesting outside params is skipped without recursion.
    let frame = format!(
        r#"{{"jsonrpc":"2.0","method":"get_data","x":{},"id":1}}"#,
        nested(100_000)
    );
    assert_eq!(reply_with(Limits::default(), &frame)["id"], 1);
}

#[test]
fn method_name_over_limit() {
    let limits = Limits::default().with_max_method_name_length(8);
    let frame = |m: &str| format!(r#"{{"jsonrpc":"2.0","method":"{m}","id":1}}"#);
    assert_eq!(
        reply_with(limits.clone(), &frame("get_data"))["result"][1],
        5
    );
    let r = reply_with(limits, &frame("get_data_"));
    assert_eq!(error_code(&r), TOO_LARGE);
    assert_eq!(r["id"], 1);
}

#[test]
fn method_name_limit_counts_characters_not_bytes() {
    let limits = Limits::default().with_max_method_name_length(2);
    let r = reply_with(limits, r#"{"jsonrpc":"2.0","method":"éé","id":1}"#);
    assert_eq!(error_code(&r), -32601);
}

#[test]
fn batch_over_limit_is_one_error() {
    let limits = Limits::default().with_max_batch_size(3);
    let batch = |n: usize| format!("[{}]", vec![call("[1]"); n].join(","));
    let r = reply_with(limits.clone(), &batch(3));
    assert_eq!(r.as_array().map(Vec::len), Some(3));
    let r = reply_with(limits, &batch(4));
    assert_eq!(error_code(&r), TOO_LARGE);
    assert!(r["id"].is_null());
}

#[test]
fn limits_apply_to_each_batch_element() {
    let limits = Limits::default().with_max_array_items(2);
    let r = reply_with(limits, &format!("[{},{}]", call("[1,2]"), call("[1,2,3]")));
    assert_eq!(r[0]["result"], 3);
    assert_eq!(r[1]["error"]["code"], TOO_LARGE);
}

#[test]
fn a_notification_over_a_limit_gets_no_reply() {
    let limits = Limits::default().with_max_array_items(2);
    let frame = r#"{"jsonrpc":"2.0","method":"update","params":[1,2,3]}"#;
    assert_eq!(
        handle_with(Protocol::new().with_limits(limits), frame),
        None
    );
}

#[test]
fn too_large_error_says_which_limit() {
    let limits = Limits::default().with_max_depth(2);
    let r = reply_with(limits, &call("[[[1]]]"));
    let data = r["error"]["data"].as_str().unwrap_or_default();
    assert!(data.contains("nested deeper than 2"), "{data}");
}
