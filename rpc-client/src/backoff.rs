//! How long to wait before each reconnect attempt.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::time::Duration;

/// When and how often to reconnect after the connection drops.
///
/// The delay before attempt `n` (from 0) is `initial_delay × 2ⁿ`, capped at
/// `max_delay`, then scaled by a random factor between ½ and 1 (jitter, so
/// that many clients dropped at once do not come back at once).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Reconnect {
    /// The delay before the first attempt.
    pub initial_delay: Duration,
    /// The longest delay between attempts.
    pub max_delay: Duration,
    /// Attempts after each drop before giving up; `None` for no limit.
    pub max_attempts: Option<u32>,
}

impl Default for Reconnect {
    fn default() -> Self {
        Self {
            initial_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(30),
            max_attempts: None,
        }
    }
}

impl Reconnect {
    /// Sets the delay before the first attempt.
    #[must_use]
    pub fn initial_delay(mut self, delay: Duration) -> Self {
        self.initial_delay = delay;
        self
    }

    /// Sets the longest delay.
    #[must_use]
    pub fn max_delay(mut self, delay: Duration) -> Self {
        self.max_delay = delay;
        self
    }

    /// Sets the number of attempts; `None` for no limit.
    #[must_use]
    pub fn max_attempts(mut self, attempts: Option<u32>) -> Self {
        self.max_attempts = attempts;
        self
    }

    /// The delay before attempt `attempt` (from 0), with jitter.
    pub fn delay(&self, attempt: u32) -> Duration {
        let exponential = self
            .initial_delay
            .saturating_mul(2u32.saturating_pow(attempt.min(31)));
        let capped = exponential.min(self.max_delay);
        capped.mul_f64(0.5 + 0.5 * random_fraction())
    }
}

/// A number in [0, 1): jitter needs no more than the std hasher's random
/// keys.
fn random_fraction() -> f64 {
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u64(0);
    (hasher.finish() >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_exponentially_with_jitter_and_a_cap() {
        let policy = Reconnect::default()
            .initial_delay(Duration::from_millis(100))
            .max_delay(Duration::from_secs(1));
        for (attempt, full) in [
            (0, 100),
            (1, 200),
            (2, 400),
            (3, 800),
            (4, 1000),
            (30, 1000),
        ] {
            let delay = policy.delay(attempt).as_millis();
            assert!(
                delay >= full / 2 && delay <= full,
                "attempt {attempt}: {delay} ms"
            );
        }
    }
}
