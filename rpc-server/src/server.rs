//! `Server::builder()`: every knob, then `serve`.

use std::fmt;
use std::future::Future;
use std::io;
use std::net::ToSocketAddrs;
use std::sync::Arc;
use std::time::Duration;

use rpc_core::{ConnectionInfo, DisconnectReason, Hooks, Limits, Middleware, Service};

use crate::admission::{Admission, ConnectRequest, Rejection};
use crate::config::ServerConfig;
use crate::groups::GroupBackend;
use crate::serve::Serve;
use crate::state::{Extras, State};
use crate::testing::TestClient;

/// Serves `service` on `addr` with the default configuration.
///
/// Binds at once, so that a port in use is reported here and
/// [`Serve::local_addr`] knows the port when `addr` asks for port 0; the
/// server runs when awaited or [spawned](Serve::spawn):
///
/// ```no_run
/// use rpc_server::{rpc_service, serve};
///
/// struct Calc;
///
/// #[rpc_service]
/// impl Calc {
///     async fn add(&self, a: i64, b: i64) -> i64 { a + b }
/// }
///
/// #[tokio::main]
/// async fn main() -> std::io::Result<()> {
///     serve("127.0.0.1:9000", Calc)?.await
/// }
/// ```
pub fn serve<S: Service>(addr: impl ToSocketAddrs, service: S) -> io::Result<Serve<S>> {
    Server::builder().serve(addr, service)
}

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
    ///     .serve("127.0.0.1:9000", Ping)?
    ///     .await
    /// # }
    /// ```
    pub fn builder() -> ServerBuilder {
        ServerBuilder::default()
    }
}

/// Sets up a [`Server`]: the settings described on [`ServerConfig`], and
/// the hooks and middleware.
#[derive(Clone, Default)]
#[must_use]
pub struct ServerBuilder {
    config: ServerConfig,
    extras: Extras,
}

impl fmt::Debug for ServerBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerBuilder")
            .field("config", &self.config)
            .field("on_connect", &self.extras.on_connect.is_some())
            .field("on_disconnect", &self.extras.on_disconnect.is_some())
            .field("hooks", &self.extras.hooks.is_some())
            .field("middleware", &self.extras.middleware.len())
            .finish()
    }
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
        /// Sets [`ServerConfig::max_connections_per_ip`].
        max_connections_per_ip: Option<usize>;
        /// Sets [`ServerConfig::handshake_rate_per_ip`].
        handshake_rate_per_ip: Option<rpc_core::Rate>;
        /// Sets [`ServerConfig::max_incoming_bytes`].
        max_incoming_bytes: usize;
        /// Sets [`ServerConfig::max_pending_requests`].
        max_pending_requests: usize;
        /// Sets [`ServerConfig::outgoing_queue`].
        outgoing_queue: usize;
        /// Sets [`ServerConfig::max_queued_bytes`].
        max_queued_bytes: usize;
        /// Sets [`ServerConfig::max_outgoing_bytes`].
        max_outgoing_bytes: usize;
        /// Sets [`ServerConfig::max_subscriptions_per_connection`].
        max_subscriptions_per_connection: usize;
        /// Sets [`ServerConfig::request_timeout`].
        request_timeout: Option<Duration>;
        /// Sets [`ServerConfig::handshake_timeout`].
        handshake_timeout: Duration;
        /// Sets [`ServerConfig::keep_alive_timeout`].
        keep_alive_timeout: Duration;
        /// Sets [`ServerConfig::max_header_bytes`].
        max_header_bytes: usize;
        /// Sets [`ServerConfig::message_timeout`].
        message_timeout: Option<Duration>;
        /// Sets [`ServerConfig::peer_call_timeout`].
        peer_call_timeout: Duration;
        /// Sets [`ServerConfig::max_groups_per_connection`].
        max_groups_per_connection: usize;
        /// Sets [`ServerConfig::max_group_name_length`].
        max_group_name_length: usize;
        /// Sets [`ServerConfig::slow_member_policy`].
        slow_member_policy: crate::groups::SlowMemberPolicy;
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
        /// Sets [`ServerConfig::rate_limit`].
        rate_limit: Option<rpc_core::Rate>;
        /// Sets [`ServerConfig::cors_credentials`].
        cors_credentials: bool;
        /// Sets [`ServerConfig::jsonrpc1`].
        jsonrpc1: bool;
        /// Sets [`ServerConfig::explorer`].
        explorer: bool;
        /// Sets [`ServerConfig::metrics`].
        metrics: bool;
        /// Sets [`ServerConfig::metrics_addr`].
        metrics_addr: Option<std::net::SocketAddr>;
    }

    /// Lets pages from these origins open a WebSocket, besides same-origin
    /// ones ([`ServerConfig::allowed_origins`]): exact origins
    /// (`https://app.example.com`) and subdomain patterns
    /// (`https://*.example.com`), or `"*"` for any.
    ///
    /// Panics on an entry that is neither; parse untrusted input into an
    /// [`AllowedOrigins`](crate::config::AllowedOrigins) with `str::parse` and set
    /// it through [`config`](Self::config).
    pub fn allowed_origins<I, S>(mut self, origins: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.config.allowed_origins = origins.into_iter().collect();
        self
    }

    /// Believes the `Forwarded` and `X-Forwarded-For` headers of these
    /// reverse proxies ([`ServerConfig::trusted_proxies`]): addresses
    /// (`10.0.0.7`) and networks (`10.0.0.0/8`).
    ///
    /// Panics on an entry that is neither; parse untrusted input into a
    /// [`TrustedProxies`](crate::config::TrustedProxies) and set it through
    /// [`config`](Self::config).
    pub fn trusted_proxies<I, S>(mut self, proxies: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let list: Vec<String> = proxies.into_iter().map(|p| p.as_ref().to_owned()).collect();
        self.config.trusted_proxies = list.join(",").parse().unwrap_or_else(|err| panic!("{err}"));
        self
    }

    /// Runs `hook` when a client asks to connect, before the WebSocket
    /// upgrade: it sees the handshake ([`ConnectRequest`]) and either
    /// admits the client, granting permissions and storing typed values
    /// ([`Admission`]), or refuses it with an HTTP status ([`Rejection`]),
    /// in which case the connection is never upgraded. A hook that has not
    /// answered within the handshake timeout is given up on: the client
    /// gets 503. Groups the hook joined through the request's `Peer` are
    /// left whenever the connection does not come to be.
    ///
    /// ```
    /// use rpc_server::Server;
    /// use rpc_server::connect::{Admission, Rejection};
    ///
    /// struct User(String);
    ///
    /// let builder = Server::builder().on_connect(|request| async move {
    ///     match request.bearer_token() {
    ///         Some("s3cret") => Ok(Admission::new()
    ///             .grant("reports.export")
    ///             .insert(User("ada".to_owned()))),
    ///         _ => Err(Rejection::unauthorized("a valid bearer token is required")),
    ///     }
    /// });
    /// ```
    pub fn on_connect<F, Fut>(mut self, hook: F) -> Self
    where
        F: Fn(ConnectRequest) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Admission, Rejection>> + Send + 'static,
    {
        self.extras.on_connect = Some(Arc::new(move |request| Box::pin(hook(request))));
        self
    }

    /// Runs `hook` when a connection ends, with what is known of it and why
    /// it ended.
    pub fn on_disconnect<F>(mut self, hook: F) -> Self
    where
        F: Fn(&ConnectionInfo, DisconnectReason) + Send + Sync + 'static,
    {
        self.extras.on_disconnect = Some(Arc::new(hook));
        self
    }

    /// Sets the lifecycle [`Hooks`]: call started, completed and failed;
    /// client connected and disconnected.
    pub fn hooks(mut self, hooks: impl Hooks) -> Self {
        self.extras.hooks = Some(Arc::new(hooks));
        self
    }

    /// Terminates TLS with the PEM certificate chain and private key at
    /// these paths: `wss://` and `https://` on the same port. A missing or
    /// bad file is reported by [`serve`](Self::serve).
    #[cfg(feature = "tls")]
    pub fn tls(
        mut self,
        cert_chain: impl Into<std::path::PathBuf>,
        private_key: impl Into<std::path::PathBuf>,
    ) -> Self {
        self.config.tls = Some(crate::tls::TlsConfig::new(cert_chain, private_key));
        self
    }

    /// Keeps group membership in `backend` instead of a [`LocalGroups`](crate::groups::LocalGroups) of
    /// this server's own: `rpc_redis::RedisGroups` shares groups, and
    /// reaches connections, across instances. The backend's events go to
    /// the [`hooks`](Self::hooks) too.
    pub fn groups(mut self, backend: impl GroupBackend) -> Self {
        self.extras.groups = Some(Arc::new(backend));
        self
    }

    /// Adds a [`Middleware`]; the first added is the outermost.
    pub fn middleware(mut self, middleware: impl Middleware) -> Self {
        self.extras.middleware.push(Arc::new(middleware));
        self
    }

    /// Binds `addr` and returns the server, ready to be awaited or spawned;
    /// fails if `addr` cannot be bound or the TLS files cannot be loaded.
    pub fn serve<S: Service>(self, addr: impl ToSocketAddrs, service: S) -> io::Result<Serve<S>> {
        Serve::bind(addr, State::new(service, self.config, self.extras))
    }

    /// Serves on a listener the caller already bound (axum's
    /// `serve(listener, app)` convention): to set socket options first, or
    /// to know the port before anything is built.
    ///
    /// ```no_run
    /// # use rpc_server::{rpc_service, Server};
    /// # struct Calc;
    /// # #[rpc_service]
    /// # impl Calc { async fn add(&self, a: i64, b: i64) -> i64 { a + b } }
    /// # async fn run() -> std::io::Result<()> {
    /// let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    /// println!("serving on {}", listener.local_addr()?);
    /// Server::builder().serve_on(listener, Calc)?.await
    /// # }
    /// ```
    ///
    /// Fails if the TLS files cannot be loaded.
    pub fn serve_on<S: Service>(
        self,
        listener: tokio::net::TcpListener,
        service: S,
    ) -> io::Result<Serve<S>> {
        Serve::on_listener(listener, State::new(service, self.config, self.extras))
    }

    /// The RPC endpoint of `service` with this configuration, as a tower
    /// service to mount in an axum app or any hyper or tower server, instead
    /// of serving a port of its own (see [`Endpoint`](crate::Endpoint)).
    ///
    /// # Panics
    ///
    /// With settings that cannot go together ([`ServerConfig::check`]: any
    /// origin with CORS credentials), as `serve` fails with them.
    #[cfg(feature = "tower")]
    pub fn endpoint<S: Service>(self, service: S) -> crate::Endpoint<S> {
        crate::Endpoint::new(State::new(service, self.config, self.extras))
    }

    /// An in-memory [`TestClient`] for `service` with this configuration,
    /// middleware and hooks.
    pub fn test_client<S: Service>(self, service: S) -> TestClient<S> {
        TestClient::from_state(State::new(service, self.config, self.extras))
    }
}
