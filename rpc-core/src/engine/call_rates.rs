//! Rate limits on calls: a token bucket per connection, for all its calls
//! and for each method that declares one, checked before the method runs.
//!
//! The buckets are governor's (GCRA: one atomic word per bucket, no
//! background task); a call over a limit is answered RATE_LIMITED with
//! the time to wait, and the connection carries on.

use std::fmt;
use std::time::Duration;

use governor::DefaultDirectRateLimiter;
use governor::clock::{Clock as _, DefaultClock};

use crate::describe::metadata::MethodInfo;
use crate::engine::rate::Rate;
use crate::wire::error::{ErrorCode, RpcError};

/// One connection's buckets: one for all its calls (the server's rate),
/// and one for each method that declares its own.
pub struct CallRates {
    connection: Option<RateBucket>,
    /// Few, found by a scan: cheaper than hashing for a handful.
    methods: Box<[(&'static str, RateBucket)]>,
}

/// One token bucket of a [`Rate`]: a token per call (or handshake), taken
/// when there is one.
///
/// ```
/// use rpc_core::{Rate, RateBucket};
///
/// let bucket = RateBucket::new(Rate::per_second(1).with_burst(2));
/// assert!(bucket.take().is_ok());
/// assert!(bucket.take().is_ok());
/// let wait = bucket.take().unwrap_err();
/// assert!(wait.as_millis() <= 1_000);
/// ```
pub struct RateBucket {
    rate: Rate,
    /// `None` for a rate that allows nothing.
    limiter: Option<DefaultDirectRateLimiter>,
}

impl RateBucket {
    /// A full bucket.
    pub fn new(rate: Rate) -> Self {
        Self {
            rate,
            limiter: rate.quota().map(DefaultDirectRateLimiter::direct),
        }
    }

    /// The bucket's rate.
    pub fn rate(&self) -> Rate {
        self.rate
    }

    /// Takes a token, or says how long until there is one.
    pub fn take(&self) -> Result<(), Duration> {
        let Some(limiter) = &self.limiter else {
            return Err(self.rate.per());
        };
        limiter
            .check()
            .map_err(|not_until| not_until.wait_time_from(DefaultClock::default().now()))
    }

    fn take_for(&self, scope: &str) -> Result<(), RpcError> {
        self.take()
            .map_err(|wait| RpcError::rate_limited(scope, self.rate, wait))
    }
}

impl fmt::Debug for RateBucket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RateBucket")
            .field("rate", &self.rate)
            .finish_non_exhaustive()
    }
}

impl CallRates {
    /// The buckets for a connection: `connection` for all its calls, plus
    /// those of `methods` with a rate of their own. `None` when nothing is
    /// limited (no cost per call).
    pub fn new(connection: Option<Rate>, methods: &[MethodInfo]) -> Option<Self> {
        let methods: Box<[_]> = methods
            .iter()
            .filter_map(|info| Some((info.name, RateBucket::new(info.rate?))))
            .collect();
        if connection.is_none() && methods.is_empty() {
            return None;
        }
        Some(Self {
            connection: connection.map(RateBucket::new),
            methods,
        })
    }

    /// How long an unused set of buckets takes to be full again, and so no
    /// different from new ones.
    pub fn refill_time(&self) -> Duration {
        self.connection
            .iter()
            .chain(self.methods.iter().map(|(_, bucket)| bucket))
            .map(|bucket| bucket.rate.refill_time())
            .max()
            .unwrap_or_default()
    }

    /// Takes a token for one call of `method`: from the method's bucket,
    /// then the connection's. An error says which limit and when to retry.
    pub fn check(&self, method: &str) -> Result<(), RpcError> {
        if let Some((name, bucket)) = self.methods.iter().find(|(name, _)| *name == method) {
            bucket.take_for(name)?;
        }
        match &self.connection {
            Some(bucket) => bucket.take_for("connection"),
            None => Ok(()),
        }
    }
}

impl fmt::Debug for CallRates {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CallRates")
            .field("connection", &self.connection.as_ref().map(|b| b.rate))
            .field(
                "methods",
                &self
                    .methods
                    .iter()
                    .map(|(n, b)| (n, b.rate))
                    .collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl RpcError {
    /// RATE_LIMITED (-32004): `scope` (`"connection"` or the method's
    /// name) is over `rate`; `data` says which and when to retry.
    pub fn rate_limited(scope: &str, rate: Rate, retry_after: Duration) -> Self {
        #[derive(serde::Serialize)]
        struct Data<'a> {
            limit: &'a str,
            rate: String,
            retry_after_ms: u64,
        }
        // Rounded up: a client that waits exactly this long finds a token.
        let retry_after_ms = u64::try_from(retry_after.as_nanos().div_ceil(1_000_000))
            .unwrap_or(u64::MAX)
            .max(1);
        Self::from_code(ErrorCode::RATE_LIMITED).with_data(&Data {
            limit: scope,
            rate: rate.to_string(),
            retry_after_ms,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_are_read_and_written_back() {
        for (text, rate) in [
            ("10/s", Rate::per_second(10)),
            ("600/m", Rate::new(600, Duration::from_secs(60))),
            (
                "5/h, burst 1",
                Rate::new(5, Duration::from_secs(3600)).with_burst(1),
            ),
            (" 3 / s ,burst 9", Rate::per_second(3).with_burst(9)),
        ] {
            assert_eq!(text.parse::<Rate>(), Ok(rate), "{text}");
            assert_eq!(rate.to_string().parse::<Rate>(), Ok(rate));
        }
        for bad in [
            "",
            "10",
            "10/d",
            "0/s",
            "x/s",
            "10/s, 5",
            "10/s, burst 0",
            "-1/s",
        ] {
            assert!(bad.parse::<Rate>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_burst_passes_then_calls_are_refused_with_the_time_to_wait() {
        let mut slow = MethodInfo::new("slow");
        slow.rate = Some(Rate::per_second(1).with_burst(2));
        let methods = [slow, MethodInfo::new("free")];
        let rates =
            CallRates::new(Some(Rate::new(5, Duration::from_secs(60))), &methods).expect("limited");
        assert!(rates.check("slow").is_ok());
        assert!(rates.check("slow").is_ok());
        let refused = rates.check("slow").unwrap_err();
        assert_eq!(refused.code(), ErrorCode::RATE_LIMITED);
        let data: serde_json::Value =
            serde_json::from_str(refused.data().expect("data").get()).unwrap();
        assert_eq!(data["limit"], "slow");
        let wait = data["retry_after_ms"].as_u64().unwrap();
        assert!((1..=1_000).contains(&wait), "{wait}");

        // The connection's own bucket: 5 calls, two of them taken above.
        for _ in 0..3 {
            assert!(rates.check("free").is_ok());
        }
        let refused = rates.check("free").unwrap_err();
        let data: serde_json::Value =
            serde_json::from_str(refused.data().expect("data").get()).unwrap();
        assert_eq!(data["limit"], "connection");
        assert_eq!(data["rate"], "5/m");
    }

    #[test]
    fn a_rate_faster_than_the_clock_allows_everything() {
        let bucket = RateBucket::new(Rate::per_second(u32::MAX).with_burst(u32::MAX));
        for _ in 0..1_000 {
            assert!(bucket.take().is_ok());
        }
        assert!(RateBucket::new(Rate::per_second(0)).take().is_err());
    }

    #[test]
    fn nothing_limited_costs_nothing() {
        assert!(CallRates::new(None, &[MethodInfo::new("a")]).is_none());
    }
}
