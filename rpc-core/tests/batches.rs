//! Batch handling beyond the specification's examples.

mod common;

use common::{error_code, handle, reply};

#[test]
fn batch_elements_run_concurrently() {
    // `wait` completes only after `release` has run; run one after the other
    // this batch would never finish (and the helper's timeout would fail).
    let r = reply(
        r#"[{"jsonrpc":"2.0","method":"wait","id":1},{"jsonrpc":"2.0","method":"release","id":2}]"#,
    );
    assert_eq!(r[0]["result"], "released");
    assert_eq!(r[1]["result"], "done");
}

#[test]
fn replies_are_one_array_in_one_frame_in_request_order() {
    let text = handle(
        r#"[{"jsonrpc":"2.0","method":"sum","params":[1],"id":1},{"jsonrpc":"2.0","method":"sum","params":[2],"id":2}]"#,
    )
    .unwrap();
    assert_eq!(
        text,
        r#"[{"jsonrpc":"2.0","result":1,"id":1},{"jsonrpc":"2.0","result":2,"id":2}]"#
    );
}

#[test]
fn notifications_in_a_batch_get_no_entry() {
    let r = reply(
        r#"[{"jsonrpc":"2.0","method":"update"},{"jsonrpc":"2.0","method":"sum","params":[3],"id":1},{"jsonrpc":"2.0","method":"nope"}]"#,
    );
    assert_eq!(r.as_array().map(Vec::len), Some(1));
    assert_eq!(r[0]["result"], 3);
}

#[test]
fn a_nested_batch_is_an_invalid_request_element() {
    let r = reply(r#"[[{"jsonrpc":"2.0","method":"sum","id":1}]]"#);
    assert_eq!(r[0]["error"]["code"], -32600);
}

#[test]
fn empty_batch_with_whitespace_is_one_invalid_request() {
    let r = reply(" [ \n ] ");
    assert_eq!(error_code(&r), -32600);
    assert!(r.is_object());
}

#[test]
fn a_panicking_element_does_not_spoil_the_others() {
    let r = reply(
        r#"[{"jsonrpc":"2.0","method":"panic_later","id":1},{"jsonrpc":"2.0","method":"sum","params":[5],"id":2}]"#,
    );
    assert_eq!(r[0]["error"]["code"], -32603);
    assert_eq!(r[1]["result"], 5);
}
