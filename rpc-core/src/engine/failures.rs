//! The log of calls that failed inside the server (a panic, an internal
//! error): a method's failure is logged at error with its detail, then
//! that method stays quiet for [`QUIET`](crate::log::QUIET) and its next line counts what was
//! left out, so a method that fails on every call cannot flood the log.
//! (A method's deliberate errors are only traced, at debug.)

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use crate::engine::quiet::QuietPeriod;
use crate::wire::error::RpcError;

/// The quiet periods, one per method that failed (bounded by the
/// service's methods: an unknown one never runs, so never fails).
#[derive(Debug, Default)]
pub(crate) struct Failures {
    methods: Mutex<HashMap<Box<str>, QuietPeriod>>,
}

impl Failures {
    /// Logs `error`, the outcome of a call to `method`: with its detail
    /// when it was sanitized (once per quiet period), else at debug.
    pub(crate) fn log(&self, method: &str, error: &RpcError) {
        let code = error.code().code();
        match error.detail() {
            Some(detail) => {
                if let Some(left_out) = self.admit(method, Instant::now()) {
                    tracing::error!(code, detail, left_out, "call failed");
                }
            }
            None => tracing::debug!(code, message = error.message(), "call returned an error"),
        }
    }

    /// Whether a failure of `method` at `now` is logged: if so, how many
    /// were left out before it.
    fn admit(&self, method: &str, now: Instant) -> Option<u64> {
        let mut methods = self
            .methods
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let quiet = match methods.get_mut(method) {
            Some(quiet) => quiet,
            None => methods.entry(method.into()).or_default(),
        };
        quiet.admit(now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::QUIET;
    use std::time::Duration;

    #[test]
    fn a_method_failing_on_every_call_is_logged_once_per_quiet_period() {
        let failures = Failures::default();
        let start = Instant::now();
        assert_eq!(failures.admit("boom", start), Some(0));
        for i in 1..=100 {
            assert_eq!(
                failures.admit("boom", start + Duration::from_millis(i)),
                None
            );
        }
        // Another method has its own quiet period.
        assert_eq!(failures.admit("other", start), Some(0));
        assert_eq!(failures.admit("boom", start + QUIET), Some(100));
    }
}
