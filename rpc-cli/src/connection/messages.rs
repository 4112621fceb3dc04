//! The JSON-RPC messages the CLI writes and reads on HTTP (over WebSocket,
//! rpc-client does it), and the batch responses it prints. Results stay raw
//! JSON: what the server sent is printed, not a re-encoding of it (which
//! would sort keys, round big integers and stop at 128 levels of nesting).

use std::collections::BTreeMap;

use serde::Serialize;
use serde::ser::{SerializeStruct as _, Serializer};
use serde_json::Value;
use serde_json::value::RawValue;

use crate::failure::Failure;

/// A request of a batch, as read from stdin.
#[derive(Debug)]
pub(crate) struct Request {
    pub(crate) method: String,
    pub(crate) params: Option<Value>,
    /// The caller's id; `None` for a notification.
    pub(crate) id: Option<Value>,
}

/// The response to a call of a batch, with the caller's id.
#[derive(Debug)]
pub(crate) struct Response {
    pub(crate) id: Value,
    /// The result, or the error object.
    pub(crate) outcome: Result<Box<RawValue>, Value>,
}

/// Members in JSON-RPC's usual order: `jsonrpc`, `result` or `error`, `id`.
impl Serialize for Response {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut response = serializer.serialize_struct("Response", 3)?;
        response.serialize_field("jsonrpc", "2.0")?;
        match &self.outcome {
            Ok(result) => response.serialize_field("result", result)?,
            Err(error) => response.serialize_field("error", error)?,
        }
        response.serialize_field("id", &self.id)?;
        response.end()
    }
}

/// A request (`id` given) or a notification, as JSON text: rpc-core's
/// frame, as every client of this project writes it.
pub(crate) fn request(method: &str, params: Option<&Value>, id: Option<u64>) -> String {
    // Values made of JSON always serialize.
    let params = params.and_then(|params| serde_json::value::to_raw_value(params).ok());
    rpc_core::calls::request_frame(method, params.as_deref(), id)
}

/// A response object's members, each raw (`"result": null` stays `null`).
type Members = BTreeMap<String, Box<RawValue>>;

/// Whether `text` is a JSON-RPC answer: an array, or an object with
/// `jsonrpc`.
pub(crate) fn is_answer(text: &str) -> bool {
    match text.trim_start().as_bytes().first() {
        Some(b'[') => serde_json::from_str::<Vec<Box<RawValue>>>(text).is_ok(),
        Some(b'{') => {
            serde_json::from_str::<Members>(text).is_ok_and(|m| m.contains_key("jsonrpc"))
        }
        _ => false,
    }
}

/// The result of a single response, or its error as a failure.
pub(crate) fn outcome(answer: &str) -> Result<Box<RawValue>, Failure> {
    let mut members: Members = serde_json::from_str(answer).map_err(|_| not_a_response(answer))?;
    outcome_of(&mut members).ok_or_else(|| not_a_response(answer))?
}

fn outcome_of(members: &mut Members) -> Option<Result<Box<RawValue>, Failure>> {
    if let Some(error) = members.remove("error") {
        return Some(Err(Failure::Remote(error_object(&error))));
    }
    members.remove("result").map(Ok)
}

/// An error object as a `Value` (it is printed, pretty or not); as a string
/// if it is too deep to parse.
fn error_object(raw: &RawValue) -> Value {
    serde_json::from_str(raw.get()).unwrap_or_else(|_| Value::String(raw.get().to_owned()))
}

/// The answer to a batch whose calls had the ids `0..calls`: each call's
/// outcome, in order (the server may answer in any order).
pub(crate) fn batch_outcomes(
    answer: Option<&str>,
    calls: usize,
) -> Result<Vec<Result<Box<RawValue>, Failure>>, Failure> {
    let unexpected =
        |what: &str| Failure::Unreachable(format!("unexpected answer to the batch: {what}"));
    let Some(answer) = answer else {
        return if calls == 0 {
            Ok(Vec::new())
        } else {
            Err(unexpected("no response"))
        };
    };
    let responses: Vec<Members> = match serde_json::from_str(answer) {
        Ok(responses) => responses,
        // A single error for the batch as a whole (`"id": null`).
        Err(_) => return Err(outcome(answer).err().unwrap_or_else(|| unexpected(answer))),
    };
    let mut slots: Vec<Option<Members>> = (0..calls).map(|_| None).collect();
    for mut response in responses {
        let slot = response
            .get("id")
            .and_then(|id| id.get().parse::<usize>().ok())
            .and_then(|id| slots.get_mut(id));
        match slot {
            Some(slot) => *slot = Some(response),
            None => {
                return Err(outcome_of(&mut response)
                    .and_then(Result::err)
                    .unwrap_or_else(|| unexpected("a response with an unknown id")));
            }
        }
    }
    Ok(slots
        .into_iter()
        .map(|slot| {
            slot.and_then(|mut members| outcome_of(&mut members))
                .unwrap_or_else(|| Err(unexpected("a call got no response")))
        })
        .collect())
}

fn not_a_response(answer: &str) -> Failure {
    Failure::Unreachable(format!(
        "the server's answer is not a JSON-RPC response: {}",
        crate::output::truncated(answer)
    ))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn requests_leave_out_what_they_do_not_have() {
        assert_eq!(
            request("subtract", Some(&json!([42, 23])), Some(0)),
            r#"{"jsonrpc":"2.0","method":"subtract","params":[42,23],"id":0}"#
        );
        assert_eq!(
            request("log", None, None),
            r#"{"jsonrpc":"2.0","method":"log"}"#
        );
    }

    #[test]
    fn results_stay_as_the_server_wrote_them() {
        let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
        for result in ["null", r#"{"b":1,"a":2}"#, "18446744073709551616", &deep] {
            let answer = format!(r#"{{"jsonrpc":"2.0","result":{result},"id":1}}"#);
            assert_eq!(outcome(&answer).unwrap().get(), result);
        }
        let error = outcome(r#"{"jsonrpc":"2.0","error":{"code":4000,"message":"no"},"id":1}"#);
        assert!(matches!(error, Err(Failure::Remote(e)) if e["code"] == 4000));
        assert!(matches!(
            outcome(r#"{"jsonrpc":"2.0","id":1}"#),
            Err(Failure::Unreachable(_))
        ));
    }

    #[test]
    fn batch_answers_are_matched_by_id_in_any_order() {
        let answer = r#"[{"jsonrpc":"2.0","result":"b","id":1},{"jsonrpc":"2.0","error":{"code":-1,"message":"x"},"id":0}]"#;
        let outcomes = batch_outcomes(Some(answer), 2).unwrap();
        assert!(matches!(&outcomes[0], Err(Failure::Remote(_))));
        assert_eq!(outcomes[1].as_ref().unwrap().get(), r#""b""#);
        // A missing response, an error for the whole batch, nothing at all.
        let missing = batch_outcomes(Some(r#"[{"jsonrpc":"2.0","result":1,"id":0}]"#), 2).unwrap();
        assert!(matches!(missing[1], Err(Failure::Unreachable(_))));
        let whole =
            r#"{"jsonrpc":"2.0","error":{"code":-32600,"message":"Invalid Request"},"id":null}"#;
        assert!(matches!(
            batch_outcomes(Some(whole), 1),
            Err(Failure::Remote(_))
        ));
        assert!(batch_outcomes(None, 0).unwrap().is_empty());
        assert!(batch_outcomes(None, 1).is_err());
    }
}
