//! `Server::builder()`: every knob, then `serve`.

use std::net::ToSocketAddrs;
use std::time::Duration;

use rpc_core::{Limits, Protocol, Service};

use crate::config::ServerConfig;
use crate::serve::Serve;
use crate::timer::TokioTimer;

/// The JSON-RPC server. Start one with [`serve`](crate::serve) for the
/// defaults, or with [`Server::builder`] to change them.
#[derive(Debug)]
#[non_exhaustive]
pub struct Server;

impl Server {
    /// A builder with every setting at its default ([`ServerConfig`]).
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// use rpc_server::{rpc_service, Server};
    ///
    /// struct Ping;
    ///
    /// #[rpc_service]
    /// impl Ping {
    ///     async fn ping(&self) -> &'static str { "pong" }
    /// }
    ///
    /// # async fn run() -> std::io::Result<()> {
    /// Server::builder()
    ///     .max_connections(1_000)
    ///     .request_timeout(Some(Duration::from_secs(5)))
    ///     .serve("127.0.0.1:9000", Ping)
    ///     .await
    /// # }
    /// ```
    pub fn builder() -> ServerBuilder {
        ServerBuilder::default()
    }
}

/// Sets up a [`Server`]; every setting is described on [`ServerConfig`].
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct ServerBuilder {
    config: ServerConfig,
}

macro_rules! setters {
    ($($(#[$doc:meta])* $name:ident: $ty:ty;)*) => {
        $(
            $(#[$doc])*
            pub fn $name(mut self, value: $ty) -> Self {
                self.config.$name = value;
                self
            }
        )*
    };
}

impl ServerBuilder {
    /// Replaces the whole configuration (from [`ServerConfig::from_env`],
    /// say).
    pub fn config(mut self, config: ServerConfig) -> Self {
        self.config = config;
        self
    }

    /// The configuration built so far.
    pub fn current_config(&self) -> &ServerConfig {
        &self.config
    }

    setters! {
        /// Sets the protocol [`Limits`].
        limits: Limits;
        /// Sets [`ServerConfig::max_frame_size`].
        max_frame_size: usize;
        /// Sets [`ServerConfig::max_connections`].
        max_connections: usize;
        /// Sets [`ServerConfig::max_pending_requests`].
        max_pending_requests: usize;
        /// Sets [`ServerConfig::outgoing_queue`].
        outgoing_queue: usize;
        /// Sets [`ServerConfig::request_timeout`].
        request_timeout: Option<Duration>;
        /// Sets [`ServerConfig::handshake_timeout`].
        handshake_timeout: Duration;
        /// Sets [`ServerConfig::ping_interval`].
        ping_interval: Option<Duration>;
        /// Sets [`ServerConfig::max_missed_pongs`].
        max_missed_pongs: u32;
        /// Sets [`ServerConfig::idle_timeout`].
        idle_timeout: Option<Duration>;
        /// Sets [`ServerConfig::max_connection_age`].
        max_connection_age: Option<Duration>;
        /// Sets [`ServerConfig::drain_timeout`].
        drain_timeout: Duration;
        /// Sets [`ServerConfig::read_buffer_size`].
        read_buffer_size: usize;
        /// Sets [`ServerConfig::write_buffer_size`].
        write_buffer_size: usize;
        /// Sets [`ServerConfig::expose_internal_errors`].
        expose_internal_errors: bool;
        /// Sets [`ServerConfig::log_params`].
        log_params: bool;
    }

    /// Binds `addr` and returns the server, ready to be awaited or spawned.
    /// A bind failure is reported by [`Serve::local_addr`] and by awaiting.
    pub fn serve<S: Service>(self, addr: impl ToSocketAddrs, service: S) -> Serve<S> {
        Serve::bind(addr, service, self.config)
    }
}

/// What every connection of one server shares.
#[derive(Debug)]
pub(crate) struct Shared<S> {
    pub(crate) service: S,
    pub(crate) protocol: Protocol<TokioTimer>,
    pub(crate) config: ServerConfig,
}

impl<S: Service> Shared<S> {
    pub(crate) fn new(service: S, config: ServerConfig) -> Self {
        Self {
            service,
            protocol: protocol(&config),
            config,
        }
    }
}

/// The protocol engine as the server configures it.
pub(crate) fn protocol(config: &ServerConfig) -> Protocol<TokioTimer> {
    Protocol::new()
        .with_limits(config.limits.clone())
        .expose_internal_errors(config.expose_internal_errors)
        .log_params(config.log_params)
        .with_default_timeout(config.request_timeout)
        .with_timer(TokioTimer)
}
