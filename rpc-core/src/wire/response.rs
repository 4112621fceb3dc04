//! Writing reply frames.

use std::fmt;

use serde::Serialize;

use crate::wire::error::RpcError;
use crate::wire::id::Id;
use crate::wire::plain_str;
use crate::wire::request::Version;

/// How every success reply begins; results are serialized right after it.
pub(crate) const RESULT_OPENING: &[u8] = br#"{"jsonrpc":"2.0","result":"#;
const ERROR_OPENING: &[u8] = br#"{"jsonrpc":"2.0","error":"#;
/// JSON-RPC 1.0's replies: `result` and `error` both present.
const V1_RESULT_OPENING: &[u8] = br#"{"result":"#;
const V1_ERROR_OPENING: &[u8] = br#"{"result":null,"error":"#;

/// One reply frame: a response object, or a batch's array of them.
#[derive(Clone, PartialEq, Eq)]
pub struct Reply(Vec<u8>);

impl Reply {
    /// The reply's JSON text.
    pub fn as_str(&self) -> &str {
        // Built only from `&str` ids and serde_json output.
        std::str::from_utf8(&self.0).unwrap_or("")
    }

    /// The reply's bytes (UTF-8 JSON).
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The reply's bytes (UTF-8 JSON), owned.
    pub fn into_bytes(self) -> Vec<u8> {
        self.0
    }

    /// The reply's JSON text, owned.
    pub fn into_string(self) -> String {
        String::from_utf8(self.0)
            .unwrap_or_else(|err| String::from_utf8_lossy(err.as_bytes()).into_owned())
    }
}

impl fmt::Debug for Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Reply").field(&self.as_str()).finish()
    }
}

impl fmt::Display for Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A success response: the serialized result, closed with the id.
pub(crate) fn success(result: SerializedResult, id: Id<'_>, version: Version) -> Vec<u8> {
    let mut buf = match version {
        Version::V2 => result.into_reply_buf(),
        Version::V1 => {
            let json = result.json();
            let mut buf = Vec::with_capacity(V1_RESULT_OPENING.len() + json.len() + 32);
            buf.extend_from_slice(V1_RESULT_OPENING);
            buf.extend_from_slice(json);
            buf.extend_from_slice(br#","error":null"#);
            buf
        }
    };
    close_with_id(&mut buf, id);
    buf
}

/// An error response.
pub(crate) fn error(error: &RpcError, id: Id<'_>, version: Version) -> Vec<u8> {
    let opening = match version {
        Version::V2 => ERROR_OPENING,
        Version::V1 => V1_ERROR_OPENING,
    };
    let mut buf = Vec::with_capacity(96);
    buf.extend_from_slice(opening);
    if serde_json::to_writer(&mut buf, error).is_err() {
        // An RpcError's members are a number, a string and raw JSON: this
        // cannot fail, but a reply must go out regardless.
        buf.truncate(opening.len());
        buf.extend_from_slice(br#"{"code":-32603,"message":"Internal error"}"#);
    }
    close_with_id(&mut buf, id);
    buf
}

fn close_with_id(buf: &mut Vec<u8>, id: Id<'_>) {
    buf.extend_from_slice(br#","id":"#);
    buf.extend_from_slice(id.as_raw().as_bytes());
    buf.push(b'}');
}

/// Joins a batch's responses into one array.
pub(crate) fn batch(responses: impl IntoIterator<Item = Vec<u8>>) -> Vec<u8> {
    let mut buf = vec![b'['];
    for response in responses {
        if buf.len() > 1 {
            buf.push(b',');
        }
        buf.extend_from_slice(&response);
    }
    buf.push(b']');
    buf
}

impl Reply {
    pub(crate) fn from_bytes(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }
}

/// What a method produces: its result serialized as JSON, or an error.
pub type MethodResult = Result<SerializedResult, RpcError>;

/// A method's successful result, serialized as JSON straight into the buffer
/// that becomes the reply frame.
pub struct SerializedResult {
    /// The reply's opening (`{"jsonrpc":"2.0","result":`) and then the
    /// result's JSON.
    buf: Vec<u8>,
    /// The method sent its reply itself (a subscription, whose reply goes
    /// out ahead of its notifications): the protocol sends none.
    sent: bool,
}

impl SerializedResult {
    /// Serializes `value`; a value that cannot be serialized (a map with
    /// non-string keys, a failing `Serialize` impl) is PARSE_RESULT_ERROR.
    pub fn new<T: Serialize + ?Sized>(value: &T) -> MethodResult {
        let mut buf = Vec::with_capacity(64);
        buf.extend_from_slice(RESULT_OPENING);
        if plain_str::write_if_str(value, &mut buf) {
            return Ok(Self { buf, sent: false });
        }
        match serde_json::to_writer(&mut buf, value) {
            Ok(()) => Ok(Self { buf, sent: false }),
            Err(err) => Err(RpcError::result_not_serializable(err)),
        }
    }

    /// The result of a method that has sent its reply (`value`) itself.
    pub(crate) fn sent<T: Serialize + ?Sized>(value: &T) -> MethodResult {
        let mut result = Self::new(value)?;
        result.sent = true;
        Ok(result)
    }

    /// Whether the method sent its reply itself, so that none is to be
    /// sent for it.
    pub fn was_sent(&self) -> bool {
        self.sent
    }

    /// The result's JSON text.
    pub fn json(&self) -> &[u8] {
        &self.buf[RESULT_OPENING.len()..]
    }

    pub(crate) fn into_reply_buf(self) -> Vec<u8> {
        self.buf
    }
}

impl fmt::Debug for SerializedResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("SerializedResult")
            .field(&String::from_utf8_lossy(self.json()))
            .finish()
    }
}
