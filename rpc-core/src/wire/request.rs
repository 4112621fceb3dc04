//! Parsing and validating one request object, borrowing from the frame.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::value::RawValue;

use crate::wire::error::RpcError;
use crate::wire::id::Id;
use crate::wire::limits::{LimitExceeded, Limits};
use crate::wire::params::Params;

/// A valid request, borrowed from the message it arrived in.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    /// The method name; borrowed unless it contained escapes.
    pub method: Cow<'a, str>,
    /// The params, as raw JSON.
    pub params: Params<'a>,
    /// The id; `None` makes the request a notification.
    pub id: Option<Id<'a>>,
    /// The JSON-RPC it is written in, which its reply is written in too.
    pub version: Version,
}

/// Which JSON-RPC a request is written in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Version {
    /// JSON-RPC 2.0: `"jsonrpc": "2.0"`.
    #[default]
    V2,
    /// JSON-RPC 1.0 (accepted only when the protocol is told to): no
    /// `jsonrpc` member, params an array, `"id": null` for a notification;
    /// answered with `result` and `error` both present, one of them null.
    V1,
}

/// Why a request object could not be run, and what to answer.
#[derive(Debug)]
pub(crate) struct Rejected<'a> {
    /// The id to answer with: the request's own when it could be read, else
    /// `null`; `None` means "say nothing" (a valid notification over a limit).
    pub(crate) id: Option<Id<'a>>,
    pub(crate) error: RpcError,
    /// The JSON-RPC to answer in.
    pub(crate) version: Version,
}

/// Parses and validates one request object (a whole message, or one element
/// of a batch). `json` must be syntactically valid JSON unless it is the whole
/// message, in which case a syntax error becomes a Parse error.
/// A request without a `jsonrpc` member is read as JSON-RPC 1.0 when
/// `accept_v1` is set, and is invalid otherwise.
pub(crate) fn parse<'a>(
    json: &'a str,
    limits: &Limits,
    accept_v1: bool,
) -> Result<Request<'a>, Rejected<'a>> {
    match read_members(json) {
        Ok(members) => validate(members, limits, accept_v1),
        Err(err) => Err(invalid_json(err)),
    }
}

/// Validates the members of one request object (`None`: the value was not
/// an object).
pub(crate) fn validate<'a>(
    members: Option<Members<'a>>,
    limits: &Limits,
    accept_v1: bool,
) -> Result<Request<'a>, Rejected<'a>> {
    let Some(members) = members else {
        return Err(invalid(None, "the request must be a JSON object"));
    };

    // The id is read first so that every later rejection can echo it.
    let id = match members.id {
        None => None,
        Some(raw) => match Id::from_raw(raw) {
            Some(id) => Some(id),
            None => {
                return Err(invalid(None, "\"id\" must be a string, a number or null"));
            }
        },
    };
    let reply_id = Some(id.unwrap_or(Id::NULL));

    if members.duplicate {
        return Err(invalid(reply_id, "a member appears more than once"));
    }
    let version = match members.jsonrpc {
        Some(raw) if is_version_2(raw) => Version::V2,
        Some(_) => return Err(invalid(reply_id, "\"jsonrpc\" must be exactly \"2.0\"")),
        None if accept_v1 => Version::V1,
        None => return Err(invalid(reply_id, "\"jsonrpc\" is missing")),
    };
    // In JSON-RPC 1.0 a notification is a request whose id is null.
    let id = match version {
        Version::V1 => id.filter(|id| !id.is_null()),
        Version::V2 => id,
    };
    // A 1.0 notification is never answered, not even with an error.
    let notification_v1 = version == Version::V1 && id.is_none();
    let invalid = |reply_id, reason| Rejected {
        version,
        ..if notification_v1 {
            Rejected {
                id: None,
                ..invalid(None, reason)
            }
        } else {
            invalid(reply_id, reason)
        }
    };
    let method = match members.method.map(decode_str) {
        Some(Some(method)) => method,
        Some(None) => return Err(invalid(reply_id, "\"method\" must be a string")),
        // A response that matched no call in flight (a late one, say):
        // dropped, never answered, or two peers could trade errors forever.
        None if members.result.is_some() || members.error.is_some() => {
            return Err(Rejected {
                id: None,
                error: RpcError::invalid_request("a response that matches no call was dropped"),
                version,
            });
        }
        None => return Err(invalid(reply_id, "\"method\" is missing")),
    };
    let params = match members.params {
        None => Params::NONE,
        Some(raw) => match raw.get().as_bytes()[0] {
            b'{' if version == Version::V1 => {
                return Err(invalid(reply_id, "JSON-RPC 1.0 params must be an array"));
            }
            b'[' | b'{' => Params::new(raw),
            _ => {
                return Err(invalid(
                    reply_id,
                    "\"params\" must be an array or an object when present",
                ));
            }
        },
    };

    // The request is valid: from here on a notification gets no reply.
    let too_large = |limit: LimitExceeded| Rejected {
        id,
        error: RpcError::request_too_large(limit),
        version,
    };
    if method.chars().count() > limits.max_method_name_length {
        return Err(too_large(LimitExceeded::MethodNameLength(
            limits.max_method_name_length,
        )));
    }
    if let Some(id) = id {
        // Quotes and escapes make the raw text a little longer than the
        // string; that slack is not worth a decode.
        if id.as_raw().len() > limits.max_string_length + 2 {
            return Err(too_large(LimitExceeded::StringLength(
                limits.max_string_length,
            )));
        }
    }
    if let Some(raw) = params.raw() {
        limits.check_value(raw.get()).map_err(too_large)?;
    }
    Ok(Request {
        method,
        params,
        id,
        version,
    })
}

fn invalid<'a>(id: Option<Id<'a>>, reason: &str) -> Rejected<'a> {
    Rejected {
        id: Some(id.unwrap_or(Id::NULL)),
        error: RpcError::invalid_request(reason),
        version: Version::V2,
    }
}

/// A syntax error is a Parse error; anything else the parser refused (a
/// member that is not a JSON value we can hold, say) is an Invalid Request.
fn invalid_json(err: serde_json::Error) -> Rejected<'static> {
    let error = match err.classify() {
        serde_json::error::Category::Data => RpcError::invalid_request(err),
        _ => RpcError::parse_error(err),
    };
    Rejected {
        id: Some(Id::NULL),
        error,
        version: Version::V2,
    }
}

pub(crate) fn is_version_2(raw: &RawValue) -> bool {
    raw.get() == "\"2.0\"" || decode_str(raw).is_some_and(|v| v == "2.0")
}

/// A JSON string's value, borrowed when it has no escapes; `None` if the
/// value is not a string.
fn decode_str(raw: &RawValue) -> Option<Cow<'_, str>> {
    struct Str;
    impl<'de> Visitor<'de> for Str {
        type Value = Cow<'de, str>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a string")
        }
        fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
            Ok(Cow::Borrowed(v))
        }
        fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
            Ok(Cow::Owned(v.to_owned()))
        }
    }
    let mut de = serde_json::Deserializer::from_str(raw.get());
    de.deserialize_str(Str).ok()
}

/// The members of a message object, each kept as raw JSON so that a bad
/// member never hides the others (the id above all).
#[derive(Default)]
pub(crate) struct Members<'a> {
    pub(crate) jsonrpc: Option<&'a RawValue>,
    pub(crate) method: Option<&'a RawValue>,
    pub(crate) params: Option<&'a RawValue>,
    pub(crate) id: Option<&'a RawValue>,
    /// Members of a response, which a peer receives.
    pub(crate) result: Option<&'a RawValue>,
    pub(crate) error: Option<&'a RawValue>,
    pub(crate) duplicate: bool,
}

/// Reads the members of a JSON object; `Ok(None)` if `json` is valid JSON
/// but not an object.
pub(crate) fn read_members(json: &str) -> Result<Option<Members<'_>>, serde_json::Error> {
    let starts_object = json
        .trim_start_matches([' ', '\t', '\n', '\r'])
        .starts_with('{');
    if !starts_object {
        // Validate without building anything (the parser skips iteratively,
        // so deep nesting costs no stack).
        serde_json::from_str::<IgnoredAny>(json)?;
        return Ok(None);
    }
    serde_json::from_str::<MembersSeed<'_>>(json).map(|m| Some(m.0))
}

struct MembersSeed<'a>(Members<'a>);

impl<'de> serde::Deserialize<'de> for MembersSeed<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer
            .deserialize_map(MembersVisitor)
            .map(MembersSeed)
    }
}

pub(crate) struct MembersVisitor;

impl<'de> Visitor<'de> for MembersVisitor {
    type Value = Members<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON-RPC request object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Members<'de>, A::Error> {
        let mut members = Members::default();
        while let Some(key) = map.next_key::<Member>()? {
            let slot = match key {
                Member::Jsonrpc => &mut members.jsonrpc,
                Member::Method => &mut members.method,
                Member::Params => &mut members.params,
                Member::Id => &mut members.id,
                Member::Result => &mut members.result,
                Member::Error => &mut members.error,
                Member::Other => {
                    map.next_value::<IgnoredAny>()?;
                    continue;
                }
            };
            let value = map.next_value::<&'de RawValue>()?;
            members.duplicate |= slot.replace(value).is_some();
        }
        Ok(members)
    }
}

enum Member {
    Jsonrpc,
    Method,
    Params,
    Id,
    Result,
    Error,
    /// Members the specification does not define are ignored.
    Other,
}

impl<'de> serde::Deserialize<'de> for Member {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct MemberVisitor;
        impl Visitor<'_> for MemberVisitor {
            type Value = Member;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a member name")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Member, E> {
                Ok(match v {
                    "jsonrpc" => Member::Jsonrpc,
                    "method" => Member::Method,
                    "params" => Member::Params,
                    "id" => Member::Id,
                    "result" => Member::Result,
                    "error" => Member::Error,
                    _ => Member::Other,
                })
            }
        }
        deserializer.deserialize_identifier(MemberVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jsonrpc_1_0_only_when_accepted() {
        let v1 = r#"{"method":"ping","params":[1],"id":null}"#;
        assert_eq!(rejected(v1).1, -32600);
        let request = parse(v1, &Limits::default(), true).unwrap();
        assert_eq!(request.version, Version::V1);
        assert!(request.id.is_none(), "id null is a notification in 1.0");
        let request = parse(r#"{"method":"ping","id":3}"#, &Limits::default(), true).unwrap();
        assert_eq!(request.id.map(|id| id.as_raw()), Some("3"));
        let object_params = r#"{"method":"ping","params":{"a":1},"id":3}"#;
        let rejection = parse(object_params, &Limits::default(), true).unwrap_err();
        assert_eq!(rejection.version, Version::V1);
        assert_eq!(rejection.id.map(|id| id.as_raw()), Some("3"));
        // A notification is not answered, even when it is invalid.
        let object_params = r#"{"method":"ping","params":{"a":1},"id":null}"#;
        let rejection = parse(object_params, &Limits::default(), true).unwrap_err();
        assert!(rejection.id.is_none());
        // 2.0 stays 2.0.
        let v2 = r#"{"jsonrpc":"2.0","method":"ping","id":null}"#;
        let request = parse(v2, &Limits::default(), true).unwrap();
        assert_eq!(request.version, Version::V2);
        assert!(request.id.is_some(), "id null is an id in 2.0");
    }

    fn rejected(json: &str) -> (Option<String>, i32, String) {
        let rejection = parse(json, &Limits::default(), false).expect_err("should be rejected");
        let data = rejection
            .error
            .data()
            .map(|d| d.get().to_owned())
            .unwrap_or_default();
        (
            rejection.id.map(|id| id.as_raw().to_owned()),
            rejection.error.code().code(),
            data,
        )
    }

    #[test]
    fn escaped_method_names_are_decoded() {
        let req = parse(
            r#"{"jsonrpc":"2.0","method":"sub\u0074ract","id":1}"#,
            &Limits::default(),
            false,
        )
        .unwrap();
        assert_eq!(req.method, "subtract");
    }

    #[test]
    fn plain_method_names_are_borrowed() {
        let req = parse(
            r#"{"jsonrpc":"2.0","method":"ping"}"#,
            &Limits::default(),
            false,
        )
        .unwrap();
        assert!(matches!(req.method, Cow::Borrowed("ping")));
        assert!(req.id.is_none());
    }

    #[test]
    fn unknown_members_are_ignored() {
        let req = parse(
            r#"{"jsonrpc":"2.0","method":"ping","extra":[[[{}]]],"id":7}"#,
            &Limits::default(),
            false,
        )
        .unwrap();
        assert_eq!(req.id.unwrap().as_raw(), "7");
    }

    #[test]
    fn duplicate_members_are_invalid_and_keep_the_id() {
        let (id, code, data) = rejected(r#"{"jsonrpc":"2.0","method":"a","method":"b","id":3}"#);
        assert_eq!((id.as_deref(), code), (Some("3"), -32600));
        assert!(data.contains("more than once"), "{data}");
    }

    #[test]
    fn escaped_version_string_is_still_2_0() {
        assert!(
            parse(
                r#"{"jsonrpc":"2\u002e0","method":"a"}"#,
                &Limits::default(),
                false
            )
            .is_ok()
        );
    }

    #[test]
    fn a_bad_id_is_answered_with_null() {
        for bad in ["true", "false", "{}", "[1]", "{\"a\":1}"] {
            let (id, code, _) =
                rejected(&format!(r#"{{"jsonrpc":"2.0","method":"a","id":{bad}}}"#));
            assert_eq!((id.as_deref(), code), (Some("null"), -32600), "id {bad}");
        }
    }
}
