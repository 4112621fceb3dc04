//! Every parameter-decoding rule of `#[rpc_service]`, over the protocol
//! engine.

use common::{error, result};
use rpc_server::{Params, RpcContext, rpc_service};
use serde::Deserialize;
use serde_json::json;

use crate::common;

#[derive(Debug, Deserialize, schemars::JsonSchema)]
struct Point {
    x: i32,
    y: i32,
}

struct Api;

#[rpc_service]
impl Api {
    fn pair(&self, a: i32, b: String) -> String {
        format!("{a}:{b}")
    }

    fn with_optional(
        &self,
        a: i32,
        b: Option<i32>,
        c: Option<String>,
    ) -> (i32, Option<i32>, Option<String>) {
        (a, b, c)
    }

    fn optional_first(&self, a: Option<i32>, b: i32) -> (Option<i32>, i32) {
        (a, b)
    }

    fn nothing(&self) -> &'static str {
        "ok"
    }

    fn point(&self, p: Point, scale: i32) -> i32 {
        (p.x + p.y) * scale
    }

    fn context_in_the_middle(&self, a: i32, ctx: &RpcContext, b: i32) -> String {
        format!(
            "{} {} {}",
            ctx.method(),
            a + b,
            ctx.id()
                .map(|id| id.as_raw().to_owned())
                .unwrap_or_default()
        )
    }

    fn raw(&self, params: Params<'_>) -> String {
        params
            .raw()
            .map_or_else(|| "none".to_owned(), |raw| raw.get().to_owned())
    }
}

fn data(err: &serde_json::Value) -> &str {
    err["data"].as_str().unwrap_or_default()
}

#[test]
fn by_position_exact_arity() {
    assert_eq!(result(&Api, "pair", Some(r#"[1, "x"]"#)), json!("1:x"));
    let err = error(&Api, "pair", Some("[1]"));
    assert_eq!(err["code"], -32602);
    assert_eq!(data(&err), "missing required parameter `b`");
    let err = error(&Api, "pair", Some(r#"[1, "x", 3]"#));
    assert_eq!(data(&err), "too many parameters: expected at most 2");
}

#[test]
fn by_position_trailing_options_may_be_left_out() {
    assert_eq!(
        result(&Api, "with_optional", Some("[1]")),
        json!([1, null, null])
    );
    assert_eq!(
        result(&Api, "with_optional", Some("[1, 2]")),
        json!([1, 2, null])
    );
    assert_eq!(
        result(&Api, "with_optional", Some(r#"[1, null, "c"]"#)),
        json!([1, null, "c"])
    );
    let err = error(&Api, "with_optional", Some("[]"));
    assert_eq!(data(&err), "missing required parameter `a`");
}

#[test]
fn by_position_a_leading_option_must_be_sent() {
    assert_eq!(
        result(&Api, "optional_first", Some("[null, 2]")),
        json!([null, 2])
    );
    let err = error(&Api, "optional_first", Some("[2]"));
    assert_eq!(data(&err), "missing required parameter `b`");
}

#[test]
fn by_name_required_optional_unknown_duplicate() {
    assert_eq!(
        result(&Api, "pair", Some(r#"{"b": "x", "a": 1}"#)),
        json!("1:x")
    );
    assert_eq!(
        result(&Api, "optional_first", Some(r#"{"b": 2}"#)),
        json!([null, 2])
    );
    let err = error(&Api, "pair", Some(r#"{"a": 1}"#));
    assert_eq!(data(&err), "missing required parameter `b`");
    let err = error(&Api, "pair", Some(r#"{"a": 1, "b": "x", "bb": 2}"#));
    assert_eq!(data(&err), "unknown parameter `bb`");
    let err = error(&Api, "pair", Some(r#"{"a": 1, "a": 2, "b": "x"}"#));
    assert_eq!(data(&err), "parameter `a` is given more than once");
}

#[test]
fn omitted_params_are_an_empty_list() {
    assert_eq!(result(&Api, "nothing", None), json!("ok"));
    assert_eq!(result(&Api, "nothing", Some("[]")), json!("ok"));
    assert_eq!(result(&Api, "nothing", Some("{}")), json!("ok"));
    assert_eq!(
        data(&error(&Api, "nothing", Some("[1]"))),
        "too many parameters: expected at most 0"
    );
    assert_eq!(
        data(&error(&Api, "pair", None)),
        "missing required parameter `a`"
    );
    assert_eq!(
        result(&Api, "with_optional", Some(r#"{"a": 5}"#)),
        json!([5, null, null])
    );
}

#[test]
fn type_errors_name_the_parameter() {
    let err = error(&Api, "pair", Some(r#"["one", "x"]"#));
    assert_eq!(
        data(&err),
        r#"invalid parameter `a`: invalid type: string "one", expected i32"#
    );
    let err = error(&Api, "point", Some(r#"[{"x": 1}, 2]"#));
    assert_eq!(data(&err), "invalid parameter `p`: missing field `y`");
    assert_eq!(
        result(
            &Api,
            "point",
            Some(r#"{"p": {"x": 1, "y": 2}, "scale": 3}"#)
        ),
        json!(9)
    );
}

#[test]
fn invalid_params_never_leak_internals() {
    let err = error(&Api, "pair", Some(r#"[1.5, "x"]"#));
    let data = data(&err);
    assert!(!data.contains("line"), "no parser positions: {data}");
    assert!(!data.contains("rpc_"), "no framework internals: {data}");
    assert!(!data.contains(".rs"), "no source paths: {data}");
}

#[test]
fn context_is_injected_anywhere_and_is_not_a_json_parameter() {
    assert_eq!(
        result(&Api, "context_in_the_middle", Some("[1, 2]")),
        json!("context_in_the_middle 3 1")
    );
    assert_eq!(
        result(&Api, "context_in_the_middle", Some(r#"{"a": 1, "b": 2}"#)),
        json!("context_in_the_middle 3 1")
    );
    let err = error(
        &Api,
        "context_in_the_middle",
        Some(r#"{"a": 1, "b": 2, "ctx": 3}"#),
    );
    assert_eq!(data(&err), "unknown parameter `ctx`");
}

#[test]
fn raw_params_are_passed_whole() {
    assert_eq!(
        result(&Api, "raw", Some("[1, [2], {}]")),
        json!("[1, [2], {}]")
    );
    assert_eq!(
        result(&Api, "raw", Some(r#"{"k": 1}"#)),
        json!(r#"{"k": 1}"#)
    );
    assert_eq!(result(&Api, "raw", None), json!("none"));
}
