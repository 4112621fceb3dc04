//! Prometheus metrics, served as the OpenMetrics text format at
//! `GET /metrics` when [`ServerConfig::metrics`](crate::ServerConfig::metrics)
//! is on: connections, refused handshakes, calls by method and outcome,
//! call durations, calls in flight, bytes in and out, pushes dropped for
//! slow members, and a shared group backend's state and traffic.
//!
//! They are fed by the same [`Hooks`] every call and connection already
//! passes (and by the refusal log), so with metrics off nothing is added to
//! the call path. Method names are labels only for the service's own
//! methods; every other name a client sends counts as `unknown`, so clients
//! cannot grow the label set.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::{Arc, Weak};
use std::time::Duration;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric as _};
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::{ConstGauge, Gauge};
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use rpc_core::{BackendEvent, Call, ConnectionInfo, DisconnectReason, ErrorCode, Hooks, Transport};

use crate::groups::{BackendHealth, GroupBackend};

/// The label of calls to methods the service does not have.
const UNKNOWN: &str = "unknown";

/// Call duration buckets, in seconds: 100 µs to 10 s.
const DURATION_BUCKETS: [f64; 16] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    5.0, 10.0,
];

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TransportLabel {
    transport: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabel {
    reason: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CallLabels {
    method: Cow<'static, str>,
    /// `ok`, or the error's code.
    outcome: Cow<'static, str>,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct MethodLabel {
    method: Cow<'static, str>,
}

type Durations = Family<MethodLabel, Histogram, fn() -> Histogram>;

/// Bytes in and out, over every connection.
#[derive(Debug, Clone, Default)]
pub(crate) struct ByteCounters {
    received: Counter,
    sent: Counter,
}

impl ByteCounters {
    pub(crate) fn received(&self, bytes: usize) {
        self.received.inc_by(bytes as u64);
    }

    pub(crate) fn sent(&self, bytes: usize) {
        self.sent.inc_by(bytes as u64);
    }
}

/// One method's series for the common outcome, made up front so that a
/// successful call finds them without building a label set.
#[derive(Debug, Clone)]
struct MethodSeries {
    name: Cow<'static, str>,
    ok: Counter,
    duration: Histogram,
}

/// A server's metrics and the registry they are encoded from.
pub(crate) struct Metrics {
    registry: Registry,
    connections_open: Family<TransportLabel, Gauge>,
    connections: Family<TransportLabel, Counter>,
    refused: Family<ReasonLabel, Counter>,
    calls: Family<CallLabels, Counter>,
    in_flight: Gauge,
    bytes: ByteCounters,
    slow_drops: Counter,
    methods: HashMap<&'static str, MethodSeries>,
    unknown: MethodSeries,
}

impl Metrics {
    /// Metrics for a service whose methods are named `methods`.
    pub(crate) fn new(methods: impl IntoIterator<Item = &'static str>) -> Self {
        let mut registry = Registry::with_prefix("rpc");
        let connections_open = Family::<TransportLabel, Gauge>::default();
        registry.register(
            "connections_open",
            "WebSocket connections open now",
            connections_open.clone(),
        );
        let connections = Family::<TransportLabel, Counter>::default();
        registry.register(
            "connections",
            "WebSocket connections accepted",
            connections.clone(),
        );
        let refused = Family::<ReasonLabel, Counter>::default();
        registry.register(
            "handshakes_refused",
            "Handshakes and HTTP requests refused, by reason",
            refused.clone(),
        );
        let calls = Family::<CallLabels, Counter>::default();
        registry.register(
            "calls",
            "Calls run (notifications and batch elements included), by method and outcome (ok, the error code, or cancelled: dropped unfinished with its connection)",
            calls.clone(),
        );
        let durations: Durations =
            Family::new_with_constructor(|| Histogram::new(DURATION_BUCKETS));
        registry.register(
            "call_duration_seconds",
            "How long calls took, by method",
            durations.clone(),
        );
        let in_flight = Gauge::default();
        registry.register("calls_in_flight", "Calls running now", in_flight.clone());
        let bytes = ByteCounters::default();
        registry.register(
            "bytes_received",
            "Bytes read from clients' TCP connections (under TLS)",
            bytes.received.clone(),
        );
        registry.register(
            "bytes_sent",
            "Bytes written to clients' TCP connections (under TLS)",
            bytes.sent.clone(),
        );
        let slow_drops = Counter::default();
        registry.register(
            "slow_member_messages_dropped",
            "Pushes (group broadcasts, notifications, subscription items) not queued because the connection's queue was full",
            slow_drops.clone(),
        );

        let series = |name: Cow<'static, str>| MethodSeries {
            ok: calls
                .get_or_create(&CallLabels {
                    method: name.clone(),
                    outcome: Cow::Borrowed("ok"),
                })
                .clone(),
            duration: durations
                .get_or_create(&MethodLabel {
                    method: name.clone(),
                })
                .clone(),
            name,
        };
        let methods = methods
            .into_iter()
            .map(|name| (name, series(Cow::Borrowed(name))))
            .collect();
        let unknown = series(Cow::Borrowed(UNKNOWN));
        Self {
            registry,
            connections_open,
            connections,
            refused,
            calls,
            in_flight,
            bytes,
            slow_drops,
            methods,
            unknown,
        }
    }

    /// The OpenMetrics text of every metric.
    pub(crate) fn encode(&self) -> String {
        let mut text = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.registry);
        text
    }

    /// Also reports, at each scrape, the state and traffic of `groups` if it
    /// is shared with other instances.
    pub(crate) fn observe_backend(&mut self, groups: Arc<dyn GroupBackend>) {
        if groups.traffic().is_some() {
            // Weak: the backend holds the server's hooks, which hold these
            // metrics; a strong reference would keep both alive forever.
            let groups = Arc::downgrade(&groups);
            self.registry
                .register_collector(Box::new(BackendCollector(groups)));
        }
    }

    /// The byte counters of a connection's IO.
    pub(crate) fn bytes(&self) -> ByteCounters {
        self.bytes.clone()
    }

    /// The counter of pushes refused by a full queue.
    pub(crate) fn slow_drops(&self) -> Counter {
        self.slow_drops.clone()
    }

    /// A handshake or request was refused, for `reason` (a fixed word).
    pub(crate) fn refused(&self, reason: &'static str) {
        self.refused.get_or_create(&ReasonLabel { reason }).inc();
    }

    fn series(&self, method: &str) -> &MethodSeries {
        self.methods.get(method).unwrap_or(&self.unknown)
    }

    fn ended(&self, method: &str, outcome: Outcome, elapsed: Duration) {
        self.in_flight.dec();
        let series = self.series(method);
        let outcome = match outcome {
            Outcome::Ok => {
                series.duration.observe(elapsed.as_secs_f64());
                series.ok.inc();
                return;
            }
            Outcome::Failed(code) => {
                series.duration.observe(elapsed.as_secs_f64());
                Cow::Owned(code.code().to_string())
            }
            // Not timed: it did not finish.
            Outcome::Cancelled => Cow::Borrowed("cancelled"),
        };
        self.calls
            .get_or_create(&CallLabels {
                method: series.name.clone(),
                outcome,
            })
            .inc();
    }
}

/// How a call ended, as `rpc_calls_total`'s `outcome` label says it.
enum Outcome {
    Ok,
    Failed(ErrorCode),
    Cancelled,
}

fn transport(connection: &ConnectionInfo) -> TransportLabel {
    TransportLabel {
        transport: match connection.transport() {
            Transport::WebSocket => "websocket",
            Transport::Http => "http",
            _ => "memory",
        },
    }
}

impl Hooks for Metrics {
    fn call_started(&self, _call: &Call<'_>) {
        self.in_flight.inc();
    }

    fn call_completed(&self, call: &Call<'_>, elapsed: Duration) {
        self.ended(call.method, Outcome::Ok, elapsed);
    }

    fn call_failed(&self, call: &Call<'_>, code: ErrorCode, elapsed: Duration) {
        self.ended(call.method, Outcome::Failed(code), elapsed);
    }

    fn call_cancelled(&self, call: &Call<'_>, elapsed: Duration) {
        self.ended(call.method, Outcome::Cancelled, elapsed);
    }

    fn client_connected(&self, connection: &ConnectionInfo) {
        let label = transport(connection);
        self.connections.get_or_create(&label).inc();
        self.connections_open.get_or_create(&label).inc();
    }

    fn client_disconnected(&self, connection: &ConnectionInfo, _reason: DisconnectReason) {
        self.connections_open
            .get_or_create(&transport(connection))
            .dec();
    }
}

/// The shared group backend's state and counts, read at each scrape.
struct BackendCollector(Weak<dyn GroupBackend>);

impl Collector for BackendCollector {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> Result<(), std::fmt::Error> {
        // Nothing once the backend is gone.
        let Some(groups) = self.0.upgrade() else {
            return Ok(());
        };
        let healthy = ConstGauge::new(i64::from(matches!(groups.health(), BackendHealth::Healthy)));
        healthy.encode(encoder.encode_descriptor(
            // The registry adds its prefix, `rpc_`, as to every name.
            "group_backend_up",
            "Whether the group backend reaches the other instances (1) or not (0).",
            None,
            healthy.metric_type(),
        )?)?;
        let traffic = groups.traffic().unwrap_or_default();
        let counts = [
            (
                "group_backend_published",
                "Messages sent to the other instances.",
                traffic.published,
            ),
            (
                "group_backend_received",
                "Messages received from the other instances.",
                traffic.received,
            ),
            (
                "group_backend_dropped",
                "Messages lost between instances (not sent, or never received here).",
                traffic.dropped,
            ),
            (
                "group_backend_reconnects",
                "Times the link to the broker came back after an outage.",
                traffic.reconnects,
            ),
        ];
        for (name, help, value) in counts {
            let counter = ConstCounter::new(value);
            counter.encode(encoder.encode_descriptor(
                name,
                help,
                None,
                counter.metric_type(),
            )?)?;
        }
        Ok(())
    }
}

impl std::fmt::Debug for BackendCollector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BackendCollector")
    }
}

/// Two observers as one: the server's metrics and the user's hooks.
pub(crate) struct BothHooks(pub(crate) Arc<dyn Hooks>, pub(crate) Arc<dyn Hooks>);

impl Hooks for BothHooks {
    fn call_started(&self, call: &Call<'_>) {
        self.0.call_started(call);
        self.1.call_started(call);
    }

    fn call_completed(&self, call: &Call<'_>, elapsed: Duration) {
        self.0.call_completed(call, elapsed);
        self.1.call_completed(call, elapsed);
    }

    fn call_failed(&self, call: &Call<'_>, code: ErrorCode, elapsed: Duration) {
        self.0.call_failed(call, code, elapsed);
        self.1.call_failed(call, code, elapsed);
    }

    fn call_cancelled(&self, call: &Call<'_>, elapsed: Duration) {
        self.0.call_cancelled(call, elapsed);
        self.1.call_cancelled(call, elapsed);
    }

    fn client_connected(&self, connection: &ConnectionInfo) {
        self.0.client_connected(connection);
        self.1.client_connected(connection);
    }

    fn client_disconnected(&self, connection: &ConnectionInfo, reason: DisconnectReason) {
        self.0.client_disconnected(connection, reason);
        self.1.client_disconnected(connection, reason);
    }

    fn group_backend(&self, event: &BackendEvent) {
        self.0.group_backend(event);
        self.1.group_backend(event);
    }
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics")
            .field("methods", &self.methods.len())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_methods_share_one_label() {
        let metrics = Metrics::new(["add"]);
        for n in 0..1_000 {
            metrics.ended(&format!("m{n}"), Outcome::Ok, Duration::from_millis(1));
        }
        metrics.ended("add", Outcome::Ok, Duration::from_millis(1));
        let text = metrics.encode();
        assert!(
            text.contains(r#"rpc_calls_total{method="unknown",outcome="ok"} 1000"#),
            "{text}"
        );
        assert!(
            text.contains(r#"rpc_calls_total{method="add",outcome="ok"} 1"#),
            "{text}"
        );
        assert!(!text.contains("m999"), "{text}");
    }

    /// A backend that says it is shared, with fixed counts.
    struct Shared(crate::groups::LocalGroups);

    impl GroupBackend for Shared {
        fn instance(&self) -> rpc_core::InstanceId {
            self.0.instance()
        }
        fn connected(&self, member: &crate::groups::Member) {
            self.0.connected(member);
        }
        fn disconnected(&self, id: rpc_core::ConnectionId) {
            self.0.disconnected(id);
        }
        fn join(&self, group: &str, id: rpc_core::ConnectionId) {
            self.0.join(group, id);
        }
        fn leave(&self, group: &str, id: rpc_core::ConnectionId) {
            self.0.leave(group, id);
        }
        fn broadcast(&self, group: &str, frame: &crate::groups::Frame) -> usize {
            self.0.broadcast(group, frame)
        }
        fn notify_connection(
            &self,
            id: rpc_core::ConnectionId,
            frame: &crate::groups::Frame,
        ) -> bool {
            self.0.notify_connection(id, frame)
        }
        fn local_len(&self, group: &str) -> usize {
            self.0.local_len(group)
        }
        fn local_groups(&self, id: rpc_core::ConnectionId) -> Vec<String> {
            self.0.local_groups(id)
        }
        fn traffic(&self) -> Option<crate::groups::BackendTraffic> {
            Some(crate::groups::BackendTraffic {
                published: 7,
                received: 5,
                ..Default::default()
            })
        }
    }

    #[test]
    fn a_shared_backend_is_read_at_each_scrape() {
        let mut metrics = Metrics::new([]);
        let backend: Arc<dyn GroupBackend> = Arc::new(Shared(crate::groups::LocalGroups::new()));
        metrics.observe_backend(Arc::clone(&backend));
        let text = metrics.encode();
        for line in [
            "rpc_group_backend_up 1",
            "rpc_group_backend_published_total 7",
            "rpc_group_backend_received_total 5",
            "rpc_group_backend_dropped_total 0",
            "rpc_group_backend_reconnects_total 0",
        ] {
            assert!(text.lines().any(|l| l == line), "no {line:?} in:\n{text}");
        }
        // The metrics do not keep the backend alive.
        drop(backend);
        assert!(!metrics.encode().contains("group_backend"));
        let local = Metrics::new([]);
        assert!(!local.encode().contains("group_backend"));
    }
}
