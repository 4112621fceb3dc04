//! Properties of the entry point over arbitrary input: it never panics and
//! answers only with well-formed replies; ids round-trip exactly; a batch's
//! replies match its calls one to one.

mod common;

use std::collections::BTreeSet;

use common::SpecService;
use proptest::prelude::*;
use rpc_core::{ConnectionInfo, Protocol};
use serde_json::Value;

fn run(frame: &[u8]) -> Option<String> {
    let connection = ConnectionInfo::detached();
    futures_executor::block_on(Protocol::new().handle_bytes(
        &SpecService::default(),
        frame,
        &connection,
    ))
    .map(|reply| reply.into_string())
}

/// A response object exactly as the specification describes it.
fn assert_well_formed_response(value: &Value) {
    let object = value
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {value}"));
    assert_eq!(object.get("jsonrpc"), Some(&Value::from("2.0")), "{value}");
    assert!(object.contains_key("id"), "{value}");
    let id = &object["id"];
    assert!(id.is_string() || id.is_number() || id.is_null(), "{value}");
    match (object.get("result"), object.get("error")) {
        (Some(_), None) => assert_eq!(object.len(), 3, "{value}"),
        (None, Some(error)) => {
            assert_eq!(object.len(), 3, "{value}");
            assert!(error["code"].is_i64(), "{value}");
            assert!(error["message"].is_string(), "{value}");
        }
        _ => panic!("exactly one of result and error: {value}"),
    }
}

fn assert_well_formed_reply(reply: &str) {
    let value: Value =
        serde_json::from_str(reply).unwrap_or_else(|e| panic!("reply {reply:?} is not JSON: {e}"));
    match &value {
        Value::Array(items) => {
            assert!(!items.is_empty(), "an empty batch reply is never sent");
            items.iter().for_each(assert_well_formed_response);
        }
        _ => assert_well_formed_response(&value),
    }
}

/// JSON-ish text: fragments of requests mixed with noise, so that the
/// generator reaches deep into the parser rather than failing at byte 0.
fn jsonish() -> impl Strategy<Value = String> {
    let fragment = prop_oneof![
        Just(r#"{"jsonrpc":"2.0","#.to_owned()),
        Just(r#""method":"sum","#.to_owned()),
        Just(r#""params":[1,2],"#.to_owned()),
        Just(r#""id":1}"#.to_owned()),
        Just("[".to_owned()),
        Just("]".to_owned()),
        Just("{".to_owned()),
        Just("}".to_owned()),
        Just(",".to_owned()),
        Just("null".to_owned()),
        Just(r#""\u0000\ud800""#.to_owned()),
        "[ -~]{0,8}",
    ];
    prop::collection::vec(fragment, 0..24).prop_map(|parts| parts.concat())
}

/// Ids of every kind, as JSON text.
fn id() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<i64>().prop_map(|n| n.to_string()),
        any::<u64>().prop_map(|n| n.to_string()),
        (-1e300f64..1e300).prop_map(|x| serde_json::to_string(&x).unwrap()),
        "[a-zA-Z0-9 _\\-\\u{e9}\\u{1F600}]{0,12}".prop_map(|s| serde_json::to_string(&s).unwrap()),
        Just(r#""\u0041\n\"""#.to_owned()),
        Just("null".to_owned()),
        Just("1.50".to_owned()),
        Just("-0".to_owned()),
        Just("1e400".to_owned()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn any_bytes_never_panic_and_get_no_reply_or_a_well_formed_one(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        if let Some(reply) = run(&bytes) {
            assert_well_formed_reply(&reply);
        }
    }

    #[test]
    fn any_jsonish_text_never_panics_and_gets_no_reply_or_a_well_formed_one(text in jsonish()) {
        if let Some(reply) = run(text.as_bytes()) {
            assert_well_formed_reply(&reply);
        }
    }

    #[test]
    fn a_valid_request_round_trips_its_id_exactly(id in id(), a in -1000i64..1000, b in -1000i64..1000) {
        let frame = format!(r#"{{"jsonrpc":"2.0","method":"subtract","params":[{a},{b}],"id":{id}}}"#);
        let reply = run(frame.as_bytes()).expect("a call gets a reply");
        let expected = format!(r#"{{"jsonrpc":"2.0","result":{},"id":{id}}}"#, a - b);
        prop_assert_eq!(reply, expected);
    }

    #[test]
    fn a_batchs_replies_match_its_calls_one_to_one(
        entries in prop::collection::vec((any::<bool>(), 0u8..4), 1..30),
    ) {
        let mut calls = BTreeSet::new();
        let elements: Vec<String> = entries
            .iter()
            .enumerate()
            .map(|(n, (notification, kind))| {
                let method = ["sum", "get_data", "no_such_method", "subtract"][usize::from(*kind)];
                if *notification {
                    format!(r#"{{"jsonrpc":"2.0","method":"{method}","params":[1,2]}}"#)
                } else {
                    calls.insert(n as u64);
                    format!(r#"{{"jsonrpc":"2.0","method":"{method}","params":[1,2],"id":{n}}}"#)
                }
            })
            .collect();
        let reply = run(format!("[{}]", elements.join(",")).as_bytes());
        match reply {
            None => prop_assert!(calls.is_empty(), "a batch with calls got no reply"),
            Some(reply) => {
                assert_well_formed_reply(&reply);
                let replies: Vec<Value> = serde_json::from_str(&reply).unwrap();
                let ids: BTreeSet<u64> = replies.iter().map(|r| r["id"].as_u64().unwrap()).collect();
                prop_assert_eq!(replies.len(), calls.len());
                prop_assert_eq!(ids, calls);
            }
        }
    }
}
