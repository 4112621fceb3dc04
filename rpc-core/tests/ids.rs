//! Ids are echoed back byte for byte, whatever their kind.

mod common;

use common::handle;

fn echoed_id(id: &str) -> String {
    let frame = format!(r#"{{"jsonrpc":"2.0","method":"get_data","id":{id}}}"#);
    let reply = handle(&frame).expect("a call gets a reply");
    let suffix = reply
        .strip_prefix(r#"{"jsonrpc":"2.0","result":["hello",5],"id":"#)
        .and_then(|rest| rest.strip_suffix('}'))
        .unwrap_or_else(|| panic!("unexpected reply {reply}"));
    suffix.to_owned()
}

#[test]
fn every_id_kind_is_echoed_exactly() {
    for id in [
        "1",
        "0",
        "-1",
        "1.5",
        "1.0",
        "-0",
        "1e3",
        "1E+3",
        "2.5e-7",
        "9007199254740993",
        "18446744073709551616",
        "123456789012345678901234567890",
        r#""x""#,
        r#""""#,
        r#""1""#,
        r#""\u00e9\n\"quoted\"""#,
        r#""é 😀""#,
        "null",
    ] {
        assert_eq!(echoed_id(id), id, "id {id}");
    }
}

#[test]
fn id_echo_is_exact_on_errors_too() {
    let reply = handle(r#"{"jsonrpc":"2.0","method":"nope","id":9007199254740993}"#).unwrap();
    assert!(reply.ends_with(r#","id":9007199254740993}"#), "{reply}");
}

#[test]
fn id_echo_is_exact_inside_batches() {
    let reply = handle(
        r#"[{"jsonrpc":"2.0","method":"get_data","id":1.50},{"jsonrpc":"2.0","method":"nope","id":"a\/b"}]"#,
    )
    .unwrap();
    assert!(reply.contains(r#""id":1.50}"#), "{reply}");
    assert!(reply.contains(r#""id":"a\/b"}"#), "{reply}");
}

#[test]
fn the_method_sees_the_raw_id_in_its_context() {
    let reply = handle(r#"{"jsonrpc":"2.0","method":"whoami","id":1.0}"#).unwrap();
    assert_eq!(reply, r#"{"jsonrpc":"2.0","result":"1.0","id":1.0}"#);
}

#[test]
fn whitespace_around_the_id_is_not_echoed() {
    let reply = handle("{\"jsonrpc\":\"2.0\",\"method\":\"get_data\",\"id\":  7  }").unwrap();
    assert!(reply.ends_with(r#","id":7}"#), "{reply}");
}
