//! The middleware chain around dispatch.

use std::sync::Arc;

use crate::engine::service::{Call, MethodFuture};

/// One link in the chain around every call (notifications and batch
/// elements included), in the "next" style: it sees the [`Call`] (method,
/// params, id, connection), may change it, may answer it itself, may time
/// it, and sees (and may change) what comes back.
///
/// Middleware runs in the order it was added; the first added is the
/// outermost. With none configured, calls do not go through the chain at
/// all. A panic in middleware is answered INTERNAL_ERROR.
///
/// ```
/// use std::time::Instant;
/// use rpc_core::{Call, MethodFuture, Middleware, Next, RpcError};
///
/// /// Refuses calls to methods whose name starts with `admin.`, and times
/// /// the others.
/// struct Guard;
///
/// impl Middleware for Guard {
///     fn handle<'a>(&'a self, call: Call<'a>, next: Next<'a>) -> MethodFuture<'a> {
///         if call.method.starts_with("admin.") {
///             return MethodFuture::err(RpcError::method_not_found());
///         }
///         MethodFuture::from_result_future(async move {
///             let started = Instant::now();
///             let result = next.run(call).await;
///             tracing::info!(method = call.method, elapsed = ?started.elapsed());
///             result
///         })
///     }
/// }
/// ```
pub trait Middleware: Send + Sync + 'static {
    /// Handles one call, usually by passing it (or a changed one) to
    /// `next`.
    fn handle<'a>(&'a self, call: Call<'a>, next: Next<'a>) -> MethodFuture<'a>;
}

/// The rest of the chain after a middleware: further middleware, then the
/// method.
pub struct Next<'a> {
    chain: &'a [Arc<dyn Middleware>],
    endpoint: &'a (dyn Endpoint + 'a),
}

/// What the end of the chain runs: the method.
pub(crate) trait Endpoint: Send + Sync {
    fn run<'b>(&'b self, call: Call<'b>) -> MethodFuture<'b>;
}

impl<'a> Next<'a> {
    pub(crate) fn new(chain: &'a [Arc<dyn Middleware>], endpoint: &'a (dyn Endpoint + 'a)) -> Self {
        Self { chain, endpoint }
    }

    /// Runs the rest of the chain on `call`. The call may borrow data the
    /// middleware owns (a rewritten params value, say).
    pub fn run(self, call: Call<'a>) -> MethodFuture<'a> {
        match self.chain.split_first() {
            Some((first, rest)) => first.handle(call, Next::new(rest, self.endpoint)),
            None => self.endpoint.run(call),
        }
    }
}

impl std::fmt::Debug for Next<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Next")
            .field("remaining", &self.chain.len())
            .finish_non_exhaustive()
    }
}
