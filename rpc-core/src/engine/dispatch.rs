//! Running one valid call: the framework's own methods, permissions, the
//! timeout, and panics.

use std::any::Any;
use std::future::{Future, poll_fn};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::pin;
use std::task::Poll;
use std::time::Duration;

use futures_util::FutureExt as _;
use futures_util::future::{Either, select};

use crate::connection::ConnectionInfo;
use crate::engine::middleware::Endpoint;
use crate::engine::service::{Call, MethodFuture, Service};
use crate::engine::timer::Timer;
use crate::wire::error::{ErrorCode, RpcError};
use crate::wire::response::{MethodResult, SerializedResult};

/// The method the framework answers itself: the service's OpenRPC document.
pub(crate) const DISCOVER: &str = "rpc.discover";

/// The end of the middleware chain: the service's method, under its timeout.
pub(crate) struct MethodEndpoint<'s, S: ?Sized, T> {
    pub(crate) service: &'s S,
    pub(crate) timer: &'s T,
    pub(crate) default_timeout: Option<Duration>,
}

impl<S: Service + ?Sized, T: Timer> Endpoint for MethodEndpoint<'_, S, T> {
    fn run<'b>(&'b self, call: Call<'b>) -> MethodFuture<'b> {
        MethodFuture::from_result_future(run(self.service, call, self.timer, self.default_timeout))
    }
}

/// Runs one call under its timeout. A method the connection lacks a
/// permission for is answered exactly like an unknown one.
pub(crate) async fn run<S: Service + ?Sized, T: Timer>(
    service: &S,
    call: Call<'_>,
    timer: &T,
    default_timeout: Option<Duration>,
) -> MethodResult {
    if call.method == DISCOVER {
        // The document costs as much as any call, and more to send: it
        // takes a token of the connection's rate like one.
        if let Some(rates) = call.connection.rates() {
            rates.check(DISCOVER)?;
        }
        return discover(service, call.connection);
    }
    let info = service.method(call.method);
    if let Some(info) = info {
        if !info.allows(call.connection) {
            return Err(RpcError::method_not_found());
        }
        // Only methods that exist use up the connection's rate.
        if let Some(rates) = call.connection.rates() {
            rates.check(info.name)?;
        }
    }
    let timeout = info.and_then(|info| info.timeout).or(default_timeout);
    let future = match catch_unwind(AssertUnwindSafe(|| service.call(call))) {
        Ok(future) => future,
        Err(panic) => return Err(panicked(call.method, &*panic)),
    };
    let mut running = pin!(AssertUnwindSafe(future).catch_unwind());
    let outcome = match timeout {
        None => running.await,
        Some(timeout) => {
            // Most calls finish on their first poll: they need no timer (and
            // no clock read to set one).
            let first = poll_fn(|cx| Poll::Ready(running.as_mut().poll(cx))).await;
            match first {
                Poll::Ready(outcome) => outcome,
                Poll::Pending => {
                    // Dropping the method's future when the timer wins cancels it.
                    let sleep = pin!(timer.sleep(timeout));
                    match select(running, sleep).await {
                        Either::Left((outcome, _)) => outcome,
                        Either::Right(((), _)) => return Err(timed_out(timeout)),
                    }
                }
            }
        }
    };
    outcome.unwrap_or_else(|panic| Err(panicked(call.method, &*panic)))
}

/// The OpenRPC document, listing only what this connection may call.
pub(crate) fn discover<S: Service + ?Sized>(
    service: &S,
    connection: &ConnectionInfo,
) -> MethodResult {
    let Some(doc) = service.openrpc() else {
        return Err(RpcError::method_not_found());
    };
    let permitted = |name: &str| {
        service
            .method(name)
            .is_none_or(|info| info.allows(connection))
    };
    if doc.methods.iter().all(|method| permitted(&method.name)) {
        SerializedResult::new(doc)
    } else {
        SerializedResult::new(&doc.filtered(permitted))
    }
}

/// Starts `method` (which may panic while dispatching) and runs its
/// future (which may panic while running); a panic becomes INTERNAL_ERROR.
pub(crate) fn guard<'a>(
    method: &'a str,
    start: impl FnOnce() -> MethodFuture<'a>,
) -> impl Future<Output = MethodResult> + Send + 'a {
    let started = catch_unwind(AssertUnwindSafe(start));
    async move {
        match started {
            Ok(future) => AssertUnwindSafe(future)
                .catch_unwind()
                .await
                .unwrap_or_else(|panic| Err(panicked(method, &*panic))),
            Err(panic) => Err(panicked(method, &*panic)),
        }
    }
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
    RpcError::internal(format_args!("`{method}` panicked: {message}"))
}
