//! The state one server shares with all its connections: the service, the
//! protocol engine, the settings, and the budgets and limits every
//! connection draws on. The builder makes it; serving, the transports and
//! the connections only read it.

use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;

use rpc_core::{ConnectionInfo, DisconnectReason, Hooks, Middleware, Protocol, Service};

use crate::admission::{OnConnect, OnDisconnect};
use crate::config::ServerConfig;
use crate::groups::{GroupBackend, LocalGroups};
use crate::metrics::{BothHooks, Metrics};
use crate::timer::TokioTimer;

/// What the builder holds besides plain settings.
#[derive(Clone, Default)]
pub(crate) struct Extras {
    pub(crate) on_connect: Option<OnConnect>,
    pub(crate) on_disconnect: Option<OnDisconnect>,
    pub(crate) hooks: Option<Arc<dyn Hooks>>,
    pub(crate) middleware: Vec<Arc<dyn Middleware>>,
    pub(crate) groups: Option<Arc<dyn GroupBackend>>,
}

/// What every connection of one server shares: built once by the builder
/// (or by `TestClient`), then read by every layer below it.
pub(crate) struct State<S> {
    pub(crate) service: S,
    pub(crate) protocol: Protocol<TokioTimer>,
    pub(crate) config: ServerConfig,
    pub(crate) on_connect: Option<OnConnect>,
    pub(crate) on_disconnect: Option<OnDisconnect>,
    pub(crate) groups: Arc<dyn GroupBackend>,
    /// The bytes of unfinished incoming messages the server may hold, and
    /// how long a message may take.
    pub(crate) incoming: Arc<crate::transport::incoming::WatchRules>,
    /// The bytes waiting to be written to WebSocket clients, and the
    /// connections holding them.
    pub(crate) outgoing: Arc<crate::outgoing::OutgoingBudget>,
    /// The per-address limits, and what each address holds.
    pub(crate) addresses: Arc<crate::addresses::Addresses>,
    /// The rate limits, and the buckets of HTTP clients.
    pub(crate) rates: crate::rates::Rates,
    /// The log of refusals and limit hits, quiet after each line.
    pub(crate) refusals: crate::refusals::Refusals,
    /// The metrics `GET /metrics` shows, when they are on.
    pub(crate) metrics: Option<Arc<Metrics>>,
    /// The CORS rules of the HTTP transport, from `config`.
    pub(crate) cors: tower_http::cors::CorsLayer,
    /// Set when the server terminates TLS.
    #[cfg(feature = "tls")]
    pub(crate) tls: Option<tokio_rustls::TlsAcceptor>,
}

impl<S: Service> State<S> {
    pub(crate) fn new(service: S, config: ServerConfig, extras: Extras) -> Self {
        let mut protocol = Protocol::new()
            .with_limits(config.limits.clone())
            .expose_internal_errors(config.expose_internal_errors)
            .log_params(config.log_params)
            .with_default_timeout(config.request_timeout)
            .accept_jsonrpc1(config.jsonrpc1)
            .with_timer(TokioTimer);
        for middleware in extras.middleware {
            protocol = protocol.with_shared_middleware(middleware);
        }
        let groups = extras
            .groups
            .unwrap_or_else(|| Arc::new(LocalGroups::new()));
        let metrics_on = config.metrics || config.metrics_addr.is_some();
        let metrics = metrics_on.then(|| {
            let mut metrics = Metrics::new(service.methods().iter().map(|m| m.name));
            metrics.observe_backend(Arc::clone(&groups));
            Arc::new(metrics)
        });
        // The metrics observe calls as hooks do, beside the user's own.
        let hooks: Option<Arc<dyn Hooks>> = match (&metrics, extras.hooks) {
            (None, hooks) => hooks,
            (Some(metrics), None) => Some(Arc::clone(metrics) as Arc<dyn Hooks>),
            (Some(metrics), Some(hooks)) => Some(Arc::new(BothHooks(
                Arc::clone(metrics) as Arc<dyn Hooks>,
                hooks,
            ))),
        };
        if let Some(hooks) = hooks {
            protocol = protocol.with_hooks(hooks);
        }
        if let Some(hooks) = protocol.hooks() {
            groups.observe(Arc::clone(hooks));
        }
        Self {
            incoming: Arc::new(crate::transport::incoming::WatchRules::new(&config)),
            outgoing: crate::outgoing::OutgoingBudget::counting_drops(
                config.max_outgoing_bytes,
                metrics.as_ref().map(|m| m.slow_drops()),
            ),
            addresses: Arc::new(crate::addresses::Addresses::new(
                config.max_connections_per_ip,
                config.handshake_rate_per_ip,
                config.trusted_proxies.clone(),
            )),
            rates: crate::rates::Rates::new(config.rate_limit, service.methods()),
            service,
            protocol,
            refusals: crate::refusals::Refusals::new(metrics.clone()),
            metrics,
            cors: crate::transport::cors::layer(&config),
            config,
            on_connect: extras.on_connect,
            on_disconnect: extras.on_disconnect,
            groups,
            #[cfg(feature = "tls")]
            tls: None,
        }
    }

    /// Loads the TLS certificate and key, when TLS is configured.
    pub(crate) fn load_tls(&mut self) -> std::io::Result<()> {
        #[cfg(feature = "tls")]
        if let Some(tls) = &self.config.tls {
            self.tls = Some(tls.acceptor()?);
        }
        Ok(())
    }

    /// Tells the hooks a connection opened; the guard tells them, and
    /// `on_disconnect`, when it ends.
    pub(crate) fn open<'a>(&'a self, connection: &'a ConnectionInfo) -> Open<'a, S> {
        if let Some(hooks) = self.protocol.hooks() {
            quietly(|| hooks.client_connected(connection));
        }
        Open {
            state: self,
            connection,
            end: DisconnectReason::ServerShutdown,
        }
    }
}

/// An open connection, as the hooks and `on_disconnect` see it. Dropped, it
/// tells them the connection ended, with the reason set in [`Open::end`];
/// a connection whose future is dropped unfinished (cut when shutdown's
/// drain timeout passes) ends as [`DisconnectReason::ServerShutdown`]. So
/// every `client_connected` gets its `client_disconnected`, and a gauge of
/// open connections comes back down.
pub(crate) struct Open<'a, S> {
    state: &'a State<S>,
    connection: &'a ConnectionInfo,
    /// Why the connection ended.
    pub(crate) end: DisconnectReason,
}

impl<S> Drop for Open<'_, S> {
    fn drop(&mut self) {
        let (connection, end) = (self.connection, self.end);
        if let Some(hooks) = self.state.protocol.hooks() {
            quietly(|| hooks.client_disconnected(connection, end));
        }
        if let Some(on_disconnect) = &self.state.on_disconnect {
            quietly(|| on_disconnect(connection, end));
        }
    }
}

/// Runs a user's hook; a panicking one is logged, not propagated (it would
/// take the connection's task down, and, from a drop, the process).
fn quietly(hook: impl FnOnce()) {
    if catch_unwind(AssertUnwindSafe(hook)).is_err() {
        tracing::error!("a connection hook panicked");
    }
}

impl<S> fmt::Debug for State<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("State")
            .field("protocol", &self.protocol)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}
