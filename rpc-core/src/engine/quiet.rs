//! Log lines that cannot flood: after a line, the same line stays quiet
//! for [`QUIET`], and the next one says how many were left out meanwhile.
//! The server's refusals and a method's internal failures are logged this
//! way; a transport of another kind can log its own the same way.

use std::time::{Duration, Instant};

/// How long a line stays quiet after it is logged.
pub const QUIET: Duration = Duration::from_secs(10);

/// The quiet period of one kind of log line.
///
/// ```
/// use std::time::Instant;
/// use rpc_core::log::{QUIET, QuietPeriod};
///
/// let mut refused = QuietPeriod::default();
/// let start = Instant::now();
/// assert_eq!(refused.admit(start), Some(0)); // logged
/// assert_eq!(refused.admit(start), None); // left out
/// assert_eq!(refused.admit(start + QUIET), Some(1)); // logged, "1 left out"
/// ```
#[derive(Debug, Default)]
pub struct QuietPeriod {
    /// Until when this line is not logged.
    until: Option<Instant>,
    /// How many were left out since the last line.
    left_out: u64,
}

impl QuietPeriod {
    /// Whether a line at `now` is logged: if so, how many were left out
    /// before it.
    pub fn admit(&mut self, now: Instant) -> Option<u64> {
        if self.until.is_some_and(|until| now < until) {
            self.left_out += 1;
            return None;
        }
        self.until = Some(now + QUIET);
        Some(std::mem::take(&mut self.left_out))
    }
}
