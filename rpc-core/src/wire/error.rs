//! The error model: [`ErrorCode`] and [`RpcError`].

use std::borrow::Cow;
use std::fmt;

use serde::Serialize;
use serde_json::value::RawValue;

/// A JSON-RPC error code.
///
/// The associated constants cover the codes the specification defines and the
/// ones this framework adds; any other `i32` is an application code.
///
/// ```
/// use rpc_core::ErrorCode;
///
/// assert_eq!(ErrorCode::METHOD_NOT_FOUND.code(), -32601);
/// assert_eq!(ErrorCode::from(-32601), ErrorCode::METHOD_NOT_FOUND);
/// assert_eq!(ErrorCode::METHOD_NOT_FOUND.message(), "Method not found");
/// assert_eq!(ErrorCode::new(4001).message(), "Application error");
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ErrorCode(i32);

impl ErrorCode {
    /// -32700: the message is not valid JSON.
    pub const PARSE_ERROR: Self = Self(-32700);
    /// -32600: the JSON is not a valid request object.
    pub const INVALID_REQUEST: Self = Self(-32600);
    /// -32601: the method does not exist, or the caller may not see it.
    pub const METHOD_NOT_FOUND: Self = Self(-32601);
    /// -32602: the params do not decode into the method's arguments.
    pub const INVALID_PARAMS: Self = Self(-32602);
    /// -32603: a bug on the server side, a handler's panic included.
    pub const INTERNAL_ERROR: Self = Self(-32603);
    /// -32000: an application error with no more specific code.
    pub const APPLICATION_ERROR: Self = Self(-32000);
    /// -32001: the request exceeds one of the [`Limits`](crate::Limits).
    pub const REQUEST_TOO_LARGE: Self = Self(-32001);
    /// -32002: the method ran past its timeout.
    pub const REQUEST_TIMEOUT: Self = Self(-32002);
    /// -32003: too many requests are in flight on this connection.
    pub const SERVER_OVERLOADED: Self = Self(-32003);
    /// -32004: the connection (or the method) is over its rate limit;
    /// `data` says when to retry.
    pub const RATE_LIMITED: Self = Self(-32004);
    /// -32701: the method's result could not be serialized.
    pub const PARSE_RESULT_ERROR: Self = Self(-32701);

    /// An error code from its number.
    pub const fn new(code: i32) -> Self {
        Self(code)
    }

    /// The number sent on the wire.
    pub const fn code(self) -> i32 {
        self.0
    }

    /// Whether the code lies in the range the specification reserves for
    /// pre-defined errors (-32768 to -32000).
    pub const fn is_reserved(self) -> bool {
        -32768 <= self.0 && self.0 <= -32000
    }

    /// The standard message for this code; "Application error" for codes this
    /// framework does not define.
    pub const fn message(self) -> &'static str {
        match self.0 {
            -32700 => "Parse error",
            -32600 => "Invalid Request",
            -32601 => "Method not found",
            -32602 => "Invalid params",
            -32603 => "Internal error",
            -32001 => "Request too large",
            -32002 => "Request timed out",
            -32003 => "Server overloaded",
            -32004 => "Rate limited",
            -32701 => "Result could not be serialized",
            -32099..=-32000 => "Server error",
            _ => "Application error",
        }
    }
}

impl From<i32> for ErrorCode {
    fn from(code: i32) -> Self {
        Self(code)
    }
}

impl From<ErrorCode> for i32 {
    fn from(code: ErrorCode) -> Self {
        code.0
    }
}

impl fmt::Debug for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ErrorCode({} {:?})", self.0, self.message())
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl Serialize for ErrorCode {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_i32(self.0)
    }
}

/// A JSON-RPC error: what a method returns when it fails, and what the client
/// receives as the response's `error` member.
///
/// An `RpcError` built with [`RpcError::new`] (or one of the constructors for
/// the standard codes) is sent as it is: its message is meant for the client.
/// One built with [`RpcError::internal`] is *sanitized*: the client sees only
/// "Internal error", and the detail stays on the server, where it is logged
/// with `tracing` when the response is written.
///
/// ```
/// use rpc_core::{ErrorCode, RpcError};
///
/// let err = RpcError::new(ErrorCode::new(4004), "no such account")
///     .with_data(&serde_json::json!({ "account": 42 }));
/// assert_eq!(err.code().code(), 4004);
/// assert_eq!(err.data().map(|d| d.get()), Some(r#"{"account":42}"#));
///
/// let io = std::io::Error::other("disk /dev/sda1 is full");
/// let err = RpcError::internal(io);
/// assert_eq!(err.message(), "Internal error");
/// assert_eq!(err.detail(), Some("disk /dev/sda1 is full"));
/// ```
#[derive(Clone)]
pub struct RpcError {
    code: ErrorCode,
    message: Cow<'static, str>,
    data: Option<Box<RawValue>>,
    /// What the server knows but the client must not see.
    detail: Option<Box<str>>,
}

impl RpcError {
    /// An error with a code and a message, both sent to the client.
    pub fn new(code: impl Into<ErrorCode>, message: impl Into<Cow<'static, str>>) -> Self {
        Self {
            code: code.into(),
            message: message.into(),
            data: None,
            detail: None,
        }
    }

    /// An error with a code and its standard message ("Method not found", …).
    pub fn from_code(code: impl Into<ErrorCode>) -> Self {
        let code = code.into();
        Self::new(code, code.message())
    }

    /// -32700, with a description of what is wrong with the JSON as `data`.
    pub fn parse_error(reason: impl fmt::Display) -> Self {
        Self::from_code(ErrorCode::PARSE_ERROR).with_reason(reason)
    }

    /// -32600, with why the request is invalid as `data`.
    pub fn invalid_request(reason: impl fmt::Display) -> Self {
        Self::from_code(ErrorCode::INVALID_REQUEST).with_reason(reason)
    }

    /// -32601 "Method not found".
    pub fn method_not_found() -> Self {
        Self::from_code(ErrorCode::METHOD_NOT_FOUND)
    }

    /// -32602, with what is wrong with the params as `data`.
    ///
    /// The reason is sent to the client: name the parameter and the problem,
    /// never server internals.
    pub fn invalid_params(reason: impl fmt::Display) -> Self {
        Self::from_code(ErrorCode::INVALID_PARAMS).with_reason(reason)
    }

    /// -32001, with the limit that was exceeded as `data`.
    pub fn request_too_large(reason: impl fmt::Display) -> Self {
        Self::from_code(ErrorCode::REQUEST_TOO_LARGE).with_reason(reason)
    }

    /// -32000 with an application message for the client.
    pub fn application(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorCode::APPLICATION_ERROR, message)
    }

    /// -32603 "Internal error", sanitized: `detail` is kept for the server's
    /// log and never sent to the client.
    pub fn internal(detail: impl fmt::Display) -> Self {
        let mut err = Self::from_code(ErrorCode::INTERNAL_ERROR);
        err.detail = Some(detail.to_string().into_boxed_str());
        err
    }

    /// -32701: the result could not be serialized; sanitized like
    /// [`RpcError::internal`].
    pub fn result_not_serializable(detail: impl fmt::Display) -> Self {
        let mut err = Self::from_code(ErrorCode::PARSE_RESULT_ERROR);
        err.detail = Some(detail.to_string().into_boxed_str());
        err
    }

    /// Attaches `data`, serialized now. A value that fails to serialize is
    /// left out (and logged), so an error is always deliverable.
    #[must_use]
    pub fn with_data<T: Serialize + ?Sized>(mut self, data: &T) -> Self {
        match serde_json::value::to_raw_value(data) {
            Ok(raw) => self.data = Some(raw),
            Err(err) => {
                tracing::warn!(error = %err, "RpcError data could not be serialized; left out")
            }
        }
        self
    }

    /// Attaches already serialized JSON as `data`.
    #[must_use]
    pub fn with_raw_data(mut self, data: Box<RawValue>) -> Self {
        self.data = Some(data);
        self
    }

    fn with_reason(self, reason: impl fmt::Display) -> Self {
        self.with_data(reason.to_string().as_str())
    }

    /// The error code.
    pub fn code(&self) -> ErrorCode {
        self.code
    }

    /// The message the client sees.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The `data` member the client sees, as raw JSON.
    pub fn data(&self) -> Option<&RawValue> {
        self.data.as_deref()
    }

    /// The server-side detail of a sanitized error, never sent to the client.
    pub fn detail(&self) -> Option<&str> {
        self.detail.as_deref()
    }

    /// Moves the server-side detail into `data`, for development setups
    /// where the client may see it. Does nothing if there is no detail.
    #[must_use]
    pub fn expose_detail(mut self) -> Self {
        if let Some(detail) = self.detail.take() {
            self = self.with_data(&*detail);
        }
        self
    }
}

impl fmt::Debug for RpcError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RpcError")
            .field("code", &self.code.0)
            .field("message", &self.message)
            .field("data", &self.data.as_deref().map(RawValue::get))
            .field("detail", &self.detail)
            .finish()
    }
}

impl fmt::Display for RpcError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.message, self.code.0)?;
        if let Some(detail) = &self.detail {
            write!(f, ": {detail}")?;
        }
        Ok(())
    }
}

impl std::error::Error for RpcError {}

/// The `error` member as it goes on the wire: never the detail.
impl Serialize for RpcError {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut s = serializer.serialize_struct("Error", 3)?;
        s.serialize_field("code", &self.code)?;
        s.serialize_field("message", &*self.message)?;
        if let Some(data) = &self.data {
            s.serialize_field("data", data)?;
        } else {
            s.skip_field("data")?;
        }
        s.end()
    }
}

/// Reads an `error` member as a client receives it (no detail).
impl<'de> serde::Deserialize<'de> for RpcError {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(serde::Deserialize)]
        struct Wire {
            code: i32,
            message: String,
            #[serde(default)]
            data: Option<Box<RawValue>>,
        }
        let wire = Wire::deserialize(deserializer)?;
        Ok(Self {
            code: ErrorCode(wire.code),
            message: Cow::Owned(wire.message),
            data: wire.data,
            detail: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serialized_error_never_contains_the_detail() {
        let err = RpcError::internal("password=hunter2");
        let json = serde_json::to_string(&err).unwrap();
        assert_eq!(json, r#"{"code":-32603,"message":"Internal error"}"#);
    }

    #[test]
    fn expose_detail_moves_it_into_data() {
        let err = RpcError::internal("boom").expose_detail();
        assert_eq!(
            serde_json::to_string(&err).unwrap(),
            r#"{"code":-32603,"message":"Internal error","data":"boom"}"#
        );
        assert_eq!(err.detail(), None);
    }

    #[test]
    fn every_design_code_has_its_number() {
        let table = [
            (ErrorCode::PARSE_ERROR, -32700),
            (ErrorCode::INVALID_REQUEST, -32600),
            (ErrorCode::METHOD_NOT_FOUND, -32601),
            (ErrorCode::INVALID_PARAMS, -32602),
            (ErrorCode::INTERNAL_ERROR, -32603),
            (ErrorCode::APPLICATION_ERROR, -32000),
            (ErrorCode::REQUEST_TOO_LARGE, -32001),
            (ErrorCode::REQUEST_TIMEOUT, -32002),
            (ErrorCode::SERVER_OVERLOADED, -32003),
            (ErrorCode::RATE_LIMITED, -32004),
            (ErrorCode::PARSE_RESULT_ERROR, -32701),
        ];
        for (code, number) in table {
            assert_eq!(code.code(), number);
            assert!(code.is_reserved());
        }
        assert!(!ErrorCode::new(1).is_reserved());
    }

    #[test]
    fn errors_round_trip_through_json() {
        let err = RpcError::new(4001, "quota").with_data(&[1, 2]);
        let back: RpcError = serde_json::from_str(&serde_json::to_string(&err).unwrap()).unwrap();
        assert_eq!(back.code(), ErrorCode::new(4001));
        assert_eq!(back.message(), "quota");
        assert_eq!(back.data().map(RawValue::get), Some("[1,2]"));
    }

    #[test]
    fn application_codes_serialize_as_numbers() {
        let err = RpcError::new(4001, "quota exceeded");
        assert_eq!(
            serde_json::to_string(&err).unwrap(),
            r#"{"code":4001,"message":"quota exceeded"}"#
        );
    }

    #[test]
    fn unserializable_data_is_left_out_not_fatal() {
        let mut map = std::collections::HashMap::new();
        map.insert(vec![1u8], 1); // non-string keys cannot be JSON object keys
        let err = RpcError::application("x").with_data(&map);
        assert!(err.data().is_none());
    }
}
