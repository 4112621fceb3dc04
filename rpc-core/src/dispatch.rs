//! Running one valid call: the framework's own methods, the timeout, and
//! panics.

use std::any::Any;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::pin;
use std::time::Duration;

use futures_util::FutureExt as _;
use futures_util::future::{Either, select};

use crate::error::{ErrorCode, RpcError};
use crate::service::{Call, MethodResult, SerializedResult, Service};
use crate::timer::Timer;

/// The method the framework answers itself: the service's OpenRPC document.
pub(crate) const DISCOVER: &str = "rpc.discover";

/// Runs one call under its timeout, turning a panic (while dispatching or
/// while running) into INTERNAL_ERROR.
pub(crate) async fn run<S: Service + ?Sized, T: Timer>(
    service: &S,
    call: Call<'_>,
    timer: &T,
    default_timeout: Option<Duration>,
) -> MethodResult {
    if call.method == DISCOVER {
        return match service.openrpc() {
            Some(doc) => SerializedResult::new(doc),
            None => Err(RpcError::method_not_found()),
        };
    }
    let timeout = service
        .method(call.method)
        .and_then(|info| info.timeout)
        .or(default_timeout);
    let future = match catch_unwind(AssertUnwindSafe(|| service.call(call))) {
        Ok(future) => future,
        Err(panic) => return Err(panicked(call.method, &*panic)),
    };
    let running = AssertUnwindSafe(future).catch_unwind();
    let outcome = match timeout {
        None => running.await,
        Some(timeout) => {
            // Dropping the method's future when the timer wins cancels it.
            let sleep = pin!(timer.sleep(timeout));
            match select(running, sleep).await {
                Either::Left((outcome, _)) => outcome,
                Either::Right(((), _)) => return Err(timed_out(timeout)),
            }
        }
    };
    outcome.unwrap_or_else(|panic| Err(panicked(call.method, &*panic)))
}

fn timed_out(timeout: Duration) -> RpcError {
    RpcError::from_code(ErrorCode::REQUEST_TIMEOUT)
        .with_data(&format!("the method ran past its {timeout:?} timeout"))
}

fn panicked(method: &str, panic: &(dyn Any + Send)) -> RpcError {
    let message = panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(a panic payload that is not a string)");
    RpcError::internal(format_args!("method `{method}` panicked: {message}"))
}
