//! A rate: how many calls, per how long, with how large a burst (`10/s`,
//! `600/m, burst 20`). The buckets that enforce rates are in
//! `call_rates`.

use std::fmt;
use std::num::NonZeroU32;
use std::str::FromStr;
use std::time::Duration;

use governor::Quota;

/// How many calls, per how long, with how large a burst: `10/s` allows ten
/// calls a second, and up to ten at once after a quiet spell.
///
/// ```
/// use std::time::Duration;
/// use rpc_core::Rate;
///
/// let rate: Rate = "600/m, burst 20".parse().unwrap();
/// assert_eq!(rate, Rate::new(600, Duration::from_secs(60)).with_burst(20));
/// assert_eq!(rate.to_string(), "600/m, burst 20");
/// assert_eq!("10/s".parse::<Rate>().unwrap(), Rate::per_second(10));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    calls: u32,
    per: Duration,
    burst: u32,
}

impl Rate {
    /// `calls` per `per`, with a burst of `calls`. A rate with zero calls,
    /// period or burst (which [`FromStr`] refuses) allows no call at all.
    pub const fn new(calls: u32, per: Duration) -> Self {
        Self {
            calls,
            per,
            burst: calls,
        }
    }

    /// `calls` a second.
    pub const fn per_second(calls: u32) -> Self {
        Self::new(calls, Duration::from_secs(1))
    }

    /// Allows up to `burst` calls at once (after a quiet spell).
    #[must_use]
    pub const fn with_burst(mut self, burst: u32) -> Self {
        self.burst = burst;
        self
    }

    /// Calls per [`per`](Self::per).
    pub const fn calls(&self) -> u32 {
        self.calls
    }

    /// The period the calls are counted over.
    pub const fn per(&self) -> Duration {
        self.per
    }

    /// The most calls at once.
    pub const fn burst(&self) -> u32 {
        self.burst
    }

    /// How long an empty bucket of this rate takes to fill up.
    pub fn refill_time(&self) -> Duration {
        self.per
            .checked_div(self.calls)
            .and_then(|every| every.checked_mul(self.burst))
            .unwrap_or(self.per)
    }

    /// The governor quota: one call every `per / calls`, `burst` at once.
    /// `None` when the rate allows nothing.
    pub(crate) fn quota(&self) -> Option<Quota> {
        if self.per.is_zero() {
            return None;
        }
        // Faster than one call a nanosecond is as good as unlimited.
        let every = self
            .per
            .checked_div(self.calls)?
            .max(Duration::from_nanos(1));
        let burst = NonZeroU32::new(self.burst)?;
        Some(Quota::with_period(every)?.allow_burst(burst))
    }
}

/// A [`Rate`] that could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseRateError(String);

impl fmt::Display for ParseRateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid rate {:?}: expected calls per second, minute or hour (\"10/s\", \"600/m\", \"100/h\"), optionally \", burst N\"",
            self.0
        )
    }
}

impl std::error::Error for ParseRateError {}

impl FromStr for Rate {
    type Err = ParseRateError;

    /// `N/s`, `N/m` or `N/h`, optionally followed by `, burst M`.
    fn from_str(text: &str) -> Result<Self, ParseRateError> {
        let invalid = || ParseRateError(text.to_owned());
        let (rate, burst) = match text.split_once(',') {
            Some((rate, burst)) => {
                let burst = burst.trim().strip_prefix("burst").ok_or_else(invalid)?;
                (rate, Some(burst.trim()))
            }
            None => (text, None),
        };
        let (calls, unit) = rate.trim().split_once('/').ok_or_else(invalid)?;
        let calls: u32 = calls.trim().parse().map_err(|_| invalid())?;
        let per = match unit.trim() {
            "s" => Duration::from_secs(1),
            "m" => Duration::from_secs(60),
            "h" => Duration::from_secs(3_600),
            _ => return Err(invalid()),
        };
        let mut parsed = Self::new(calls, per);
        if let Some(burst) = burst {
            parsed.burst = burst.parse().map_err(|_| invalid())?;
        }
        if parsed.quota().is_none() {
            return Err(invalid());
        }
        Ok(parsed)
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let unit = match self.per.as_secs() {
            1 => "s",
            60 => "m",
            3_600 => "h",
            _ => return write!(f, "{} per {:?}", self.calls, self.per),
        };
        write!(f, "{}/{unit}", self.calls)?;
        if self.burst != self.calls {
            write!(f, ", burst {}", self.burst)?;
        }
        Ok(())
    }
}
