//! Support for the code `#[rpc_service]` generates. Not a public API: it may
//! change in any release.

pub use rpc_core::__private::*;
pub use rpc_core::{
    Call, MethodFuture, MethodInfo, MethodResult, OpenRpc, OpenRpcInfo, ParamInfo, RpcError,
    Service, Transport, schema_for,
};

/// Fails to compile unless a service with `blocking` methods is `Clone`.
#[diagnostic::on_unimplemented(
    message = "a service with `#[rpc(blocking)]` methods must be `Clone`",
    label = "a clone of the service runs on the blocking thread pool",
    note = "derive `Clone`; keep shared state in an `Arc` so the clone is cheap"
)]
pub trait CloneForBlocking: Clone {}
impl<T: Clone> CloneForBlocking for T {}

/// The clone of the service that a `blocking` method runs on.
pub fn clone_for_blocking<T: CloneForBlocking>(service: &T) -> T {
    service.clone()
}

/// Runs a `blocking` method on tokio's blocking thread pool, or inline when
/// there is no tokio runtime (a test that drives the protocol by hand).
pub async fn run_blocking<F>(method: F) -> MethodResult
where
    F: FnOnce() -> MethodResult + Send + 'static,
{
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        return method();
    };
    match runtime.spawn_blocking(method).await {
        Ok(result) => result,
        Err(err) if err.is_panic() => {
            let panic = err.into_panic();
            let message = panic
                .downcast_ref::<&str>()
                .copied()
                .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
                .unwrap_or("(a panic payload that is not a string)");
            Err(RpcError::internal(format_args!(
                "blocking method panicked: {message}"
            )))
        }
        Err(err) => Err(RpcError::internal(format_args!(
            "blocking method did not finish: {err}"
        ))),
    }
}
