//! The log of refusals and limit hits: each kind is logged when it happens,
//! with the client and the reason, at a level that says whose problem it
//! is (warn: the server is at a limit of its own; info: one client was
//! refused), and never floods: after a line, the same kind stays quiet for
//! [`QUIET`](rpc_core::log::QUIET), and the next line says how many were left out meanwhile.

use std::fmt;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use rpc_core::log::QuietPeriod;

use crate::metrics::Metrics;

/// What was refused, or which limit was hit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refused {
    /// `max_connections`: a connection answered 503.
    ServerFull,
    /// `max_connections_per_ip` or `handshake_rate_per_ip`: 429.
    AddressLimit,
    /// An origin `allowed_origins` does not name: 403.
    Origin,
    /// `on_connect` refused the client.
    OnConnect,
    /// `max_incoming_bytes`: no room for an HTTP body, 503.
    IncomingBudget,
    /// `message_timeout`: an HTTP body too slow, 408.
    SlowBody,
}

impl Refused {
    /// How many kinds there are (the variants are numbered from 0).
    const COUNT: usize = Self::SlowBody as usize + 1;

    /// Its `reason` label in the metrics.
    pub(crate) fn label(self) -> &'static str {
        match self {
            Self::ServerFull => "server_full",
            Self::AddressLimit => "address_limit",
            Self::Origin => "origin",
            Self::OnConnect => "on_connect",
            Self::IncomingBudget => "incoming_budget",
            Self::SlowBody => "slow_body",
        }
    }

    fn what(self) -> &'static str {
        match self {
            Self::ServerFull => "connection refused: the server is at max_connections",
            Self::AddressLimit => "connection refused: its address is over a per-address limit",
            Self::Origin => "refused: its origin is not allowed",
            Self::OnConnect => "refused by on_connect",
            Self::IncomingBudget => "HTTP body refused: the server is at max_incoming_bytes",
            Self::SlowBody => "HTTP body cut off after the message timeout",
        }
    }

    /// Whether it says the server itself is at a limit (warn), rather than
    /// one client being refused (info).
    fn is_server_limit(self) -> bool {
        matches!(self, Self::ServerFull | Self::IncomingBudget)
    }
}

/// One quiet period per kind of refusal, and the metrics that count every
/// refusal (when they are on).
#[derive(Debug)]
pub(crate) struct Refusals {
    kinds: [Mutex<QuietPeriod>; Refused::COUNT],
    metrics: Option<Arc<Metrics>>,
}

impl Refusals {
    pub(crate) fn new(metrics: Option<Arc<Metrics>>) -> Self {
        Self {
            kinds: Default::default(),
            metrics,
        }
    }

    /// Counts the refusal, and logs that `client` was refused as `kind`
    /// says, for `reason`, unless the same kind was logged less than
    /// [`QUIET`](rpc_core::log::QUIET) ago.
    pub(crate) fn log(&self, kind: Refused, client: IpAddr, reason: &dyn fmt::Display) {
        if let Some(metrics) = &self.metrics {
            metrics.refused(kind.label());
        }
        let Some(left_out) = self.admit(kind, Instant::now()) else {
            return;
        };
        let what = kind.what();
        if kind.is_server_limit() {
            tracing::warn!(%client, %reason, left_out, "{what}");
        } else {
            tracing::info!(%client, %reason, left_out, "{what}");
        }
    }

    /// Whether a refusal of `kind` at `now` is logged: if so, how many were
    /// left out before it.
    fn admit(&self, kind: Refused, now: Instant) -> Option<u64> {
        self.kinds[kind as usize]
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .admit(now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rpc_core::log::QUIET;
    use std::time::Duration;

    #[test]
    fn a_kind_is_logged_once_per_quiet_period_with_what_was_left_out() {
        let refusals = Refusals::new(None);
        let start = Instant::now();
        assert_eq!(refusals.admit(Refused::ServerFull, start), Some(0));
        for i in 1..=5 {
            let now = start + Duration::from_millis(i);
            assert_eq!(refusals.admit(Refused::ServerFull, now), None);
        }
        // Another kind has its own quiet period.
        assert_eq!(refusals.admit(Refused::Origin, start), Some(0));
        assert_eq!(refusals.admit(Refused::ServerFull, start + QUIET), Some(5));
        assert_eq!(refusals.admit(Refused::ServerFull, start + QUIET), None);
    }
}
