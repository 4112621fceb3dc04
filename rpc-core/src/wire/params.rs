//! The `params` of a request, as raw JSON borrowed from the frame.

use serde::Deserialize;
use serde_json::value::RawValue;

use crate::wire::error::RpcError;

/// A request's `params`: an array (by position), an object (by name) or
/// absent, kept as the raw JSON text it arrived as so that it can be decoded
/// straight into typed arguments.
///
/// ```
/// use rpc_core::Params;
///
/// let raw = serde_json::value::RawValue::from_string("[42, 23]".into()).unwrap();
/// let params = Params::new(&raw);
/// assert!(params.is_array());
/// let (a, b): (i64, i64) = params.parse().unwrap();
/// assert_eq!(a - b, 19);
///
/// let err = params.parse::<(String, i64)>().unwrap_err();
/// assert_eq!(err.code().code(), -32602);
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Params<'a>(Option<&'a RawValue>);

impl<'a> Params<'a> {
    /// No `params` member.
    pub const NONE: Params<'static> = Params(None);

    /// Params from their raw JSON, which must be an array or an object.
    pub fn new(raw: &'a RawValue) -> Self {
        Self(Some(raw))
    }

    /// The raw JSON, or `None` when `params` was omitted.
    pub fn raw(&self) -> Option<&'a RawValue> {
        self.0
    }

    /// Whether `params` was omitted.
    pub fn is_none(&self) -> bool {
        self.0.is_none()
    }

    /// Whether `params` is an array (by-position arguments).
    pub fn is_array(&self) -> bool {
        self.first_byte() == Some(b'[')
    }

    /// Whether `params` is an object (by-name arguments).
    pub fn is_object(&self) -> bool {
        self.first_byte() == Some(b'{')
    }

    fn first_byte(&self) -> Option<u8> {
        self.0.and_then(|raw| raw.get().as_bytes().first().copied())
    }

    /// Decodes the whole `params` value into `T`; omitted params decode as
    /// an empty array. A mismatch is INVALID_PARAMS with serde's description
    /// of it (which names the expected type and position, never internals).
    pub fn parse<T: Deserialize<'a>>(&self) -> Result<T, RpcError> {
        let json = self.0.map_or("[]", RawValue::get);
        serde_json::from_str(json).map_err(RpcError::invalid_params)
    }
}
