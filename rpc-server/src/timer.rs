//! Method timeouts on tokio's clock.

use std::time::Duration;

use rpc_core::Timer;

/// The [`Timer`] the server gives the protocol engine.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct TokioTimer;

impl Timer for TokioTimer {
    type Sleep = tokio::time::Sleep;

    fn sleep(&self, duration: Duration) -> tokio::time::Sleep {
        tokio::time::sleep(duration)
    }
}
