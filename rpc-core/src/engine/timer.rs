//! Timers for method timeouts, supplied by whoever owns the runtime.

use std::future::{Future, Pending};
use std::time::Duration;

/// A source of sleeps, so that [`Protocol`](crate::Protocol) can enforce
/// method timeouts without depending on an async runtime. The server supplies
/// one backed by tokio.
pub trait Timer: Send + Sync + 'static {
    /// The future [`sleep`](Timer::sleep) returns.
    type Sleep: Future<Output = ()> + Send;

    /// A future that completes after `duration`.
    fn sleep(&self, duration: Duration) -> Self::Sleep;
}

/// No timer: timeouts are recorded but never fire. The default, for driving
/// the protocol without a runtime.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoTimer;

impl Timer for NoTimer {
    type Sleep = Pending<()>;

    fn sleep(&self, _: Duration) -> Pending<()> {
        std::future::pending()
    }
}
