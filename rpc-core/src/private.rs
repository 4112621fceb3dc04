//! Support for the code `#[rpc_service]` generates. Not a public API: it may
//! change in any release.

use serde::Serialize;
use serde::de::DeserializeOwned;

pub use crate::decode::{MAX_PARAMS, ParamList, decode};
pub use schemars;

use crate::error::RpcError;
use crate::service::{MethodResult, SerializedResult};

/// Types a method may take as a JSON parameter.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be an RPC parameter",
    label = "parameters must implement `serde::Deserialize` and `schemars::JsonSchema`",
    note = "derive both: `#[derive(serde::Deserialize, schemars::JsonSchema)]`"
)]
pub trait RpcParam: DeserializeOwned + schemars::JsonSchema {}
impl<T: DeserializeOwned + schemars::JsonSchema> RpcParam for T {}

/// Types a method may return (inside `Result` or not).
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be an RPC result",
    label = "results must implement `serde::Serialize` and `schemars::JsonSchema`",
    note = "derive both: `#[derive(serde::Serialize, schemars::JsonSchema)]`"
)]
pub trait RpcResult: Serialize + schemars::JsonSchema {}
impl<T: Serialize + schemars::JsonSchema + ?Sized> RpcResult for T {}

/// Fails to compile, at the parameter's type, unless it can be a parameter.
pub const fn assert_param<T: RpcParam>() {}

/// Fails to compile, at the return type, unless it can be a result.
pub const fn assert_result<T: RpcResult + ?Sized>() {}

/// Return types that are a `Result` (or an alias of one).
pub trait ReturnsResult {
    /// The success type.
    type Ok;
    /// The error type.
    type Err;
    /// The value as a `Result`.
    fn into_result(self) -> Result<Self::Ok, Self::Err>;
}

impl<T, E> ReturnsResult for Result<T, E> {
    type Ok = T;
    type Err = E;
    fn into_result(self) -> Self {
        self
    }
}

/// Serializes a method's plain return value.
pub fn respond<T: Serialize>(value: T) -> MethodResult {
    SerializedResult::new(&value)
}

/// Serializes a method's `Result`, converting its error.
pub fn respond_result<R>(result: R) -> MethodResult
where
    R: ReturnsResult,
    R::Ok: Serialize,
    R::Err: Into<RpcError>,
{
    match result.into_result() {
        Ok(value) => SerializedResult::new(&value),
        Err(err) => Err(err.into()),
    }
}

/// A notification method's answer when called with an id: `null`.
pub fn respond_null() -> MethodResult {
    SerializedResult::new(&())
}

/// A notification method's `Result`: `null` or its error.
pub fn respond_null_result<R>(result: R) -> MethodResult
where
    R: ReturnsResult,
    R::Err: Into<RpcError>,
{
    match result.into_result() {
        Ok(_) => respond_null(),
        Err(err) => Err(err.into()),
    }
}
