//! The engine that runs a frame: `Protocol` (a frame in, a reply out), the
//! `Service` it dispatches to, and what surrounds each call: middleware,
//! hooks, rate limits, the slots that bound calls in flight, timeouts.

pub(crate) mod call_rates;
pub(crate) mod call_slots;
pub(crate) mod call_span;
pub(crate) mod dispatch;
pub(crate) mod failures;
pub(crate) mod hooks;
pub(crate) mod middleware;
pub(crate) mod protocol;
pub(crate) mod quiet;
pub(crate) mod rate;
pub(crate) mod service;
pub(crate) mod timer;
