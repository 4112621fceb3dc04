//! `serve(addr, service)`: bind, accept, hand each connection its task, and
//! shut down gracefully.

use std::fmt;
use std::future::{Future, IntoFuture};
use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use rpc_core::{CallError, ConnectionId, Service};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;
use tokio::time::timeout;
use tracing::Instrument as _;

use crate::connection;
use crate::groups::{BackendError, Frame, GroupBackend};
use crate::refusals::Refused;
use crate::shutdown;
use crate::state::State;
use crate::transport::{self, Admit};

/// A bound server that runs when awaited (until it is shut down) or
/// [spawned](Serve::spawn).
#[must_use = "a server does nothing until it is awaited or spawned"]
pub struct Serve<S> {
    listener: std::net::TcpListener,
    local_addr: SocketAddr,
    /// `GET /metrics` on an address of its own, when configured.
    metrics_listener: Option<std::net::TcpListener>,
    state: State<S>,
    stop: shutdown::Trigger,
    stopped: watch::Sender<bool>,
    signal: Option<Pin<Box<dyn Future<Output = ()> + Send>>>,
}

impl<S: Service> Serve<S> {
    /// Loads the TLS files (when configured), then binds `addr`.
    pub(crate) fn bind(addr: impl ToSocketAddrs, mut state: State<S>) -> io::Result<Self> {
        state.config.check().map_err(io::Error::other)?;
        state.load_tls()?;
        let listener = std::net::TcpListener::bind(addr)?;
        listener.set_nonblocking(true)?;
        Self::on(listener, state)
    }

    /// Serves on a listener bound by the caller (tokio's: non-blocking).
    pub(crate) fn on_listener(listener: TcpListener, mut state: State<S>) -> io::Result<Self> {
        state.config.check().map_err(io::Error::other)?;
        state.load_tls()?;
        Self::on(listener.into_std()?, state)
    }

    fn on(listener: std::net::TcpListener, state: State<S>) -> io::Result<Self> {
        let (stop, _) = shutdown::channel();
        let metrics_listener = match state.config.metrics_addr {
            Some(addr) => {
                let listener = std::net::TcpListener::bind(addr)?;
                listener.set_nonblocking(true)?;
                Some(listener)
            }
            None => None,
        };
        Ok(Self {
            local_addr: listener.local_addr()?,
            listener,
            metrics_listener,
            state,
            stop,
            stopped: watch::channel(false).0,
            signal: None,
        })
    }

    /// The address the server listens on (the port chosen, when bound to
    /// port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Where `GET /metrics` is served when it has an address of its own
    /// ([`ServerConfig::metrics_addr`](crate::ServerConfig::metrics_addr);
    /// the port chosen, when bound to port 0).
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_listener
            .as_ref()
            .and_then(|listener| listener.local_addr().ok())
    }

    /// Shuts down gracefully when `signal` completes
    /// ([`shutdown_signal`](crate::shutdown_signal): SIGTERM or ctrl-c): stop
    /// accepting, answer every request already received, then close each
    /// connection with 1001, all within the drain timeout.
    pub fn with_graceful_shutdown<F>(mut self, signal: F) -> Self
    where
        F: Future<Output = ()> + Send + 'static,
    {
        self.signal = Some(Box::pin(signal));
        self
    }

    /// A handle to stop the server from elsewhere and wait for it.
    pub fn handle(&self) -> ServerHandle {
        ServerHandle {
            local_addr: self.local_addr,
            stop: self.stop.clone(),
            stopped: self.stopped.subscribe(),
            groups: Arc::clone(&self.state.groups),
            max_group_name_length: self.state.config.max_group_name_length,
        }
    }

    /// Runs the server on a new tokio task and returns its handle.
    pub fn spawn(self) -> ServerHandle {
        let handle = self.handle();
        tokio::spawn(async move {
            if let Err(err) = self.await {
                tracing::error!(error = %err, "server failed");
            }
        });
        handle
    }
}

impl<S: Service> IntoFuture for Serve<S> {
    type Output = io::Result<()>;
    type IntoFuture = Pin<Box<dyn Future<Output = io::Result<()>> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(async move {
            let listener = TcpListener::from_std(self.listener)?;
            let state = Arc::new(self.state);
            // Stopped (with its connections) when the server stops.
            let _metrics = match (self.metrics_listener, &state.metrics) {
                (Some(listener), Some(metrics)) => Some(AbortOnDrop(tokio::spawn(
                    transport::metrics_listener::serve(
                        TcpListener::from_std(listener)?,
                        Arc::clone(metrics),
                        state.config.clone(),
                    ),
                ))),
                _ => None,
            };
            let signal = self
                .signal
                .unwrap_or_else(|| Box::pin(std::future::pending()));
            let result = accept_loop(listener, state, &self.stop, signal).await;
            self.stopped.send_replace(true);
            result
        })
    }
}

impl<S> fmt::Debug for Serve<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Serve")
            .field("listener", &self.listener)
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

/// Aborts a task when dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Stops a running server and waits for it, and pushes to its groups and
/// connections; cheap to clone.
#[derive(Clone)]
pub struct ServerHandle {
    local_addr: SocketAddr,
    stop: shutdown::Trigger,
    stopped: watch::Receiver<bool>,
    groups: Arc<dyn GroupBackend>,
    max_group_name_length: usize,
}

impl fmt::Debug for ServerHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerHandle")
            .field("local_addr", &self.local_addr)
            .finish_non_exhaustive()
    }
}

impl ServerHandle {
    /// The address the server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Starts a graceful shutdown (see [`Serve::with_graceful_shutdown`]);
    /// returns at once.
    pub fn shutdown(&self) {
        self.stop.fire();
    }

    /// Completes when the server has stopped: every connection closed, or
    /// the drain timeout passed.
    pub async fn stopped(&self) {
        let mut stopped = self.stopped.clone();
        let _ = stopped.wait_for(|stopped| *stopped).await;
    }

    /// Sends a notification to every current member of `group`, from
    /// outside any handler; the payload is serialized once. Returns how many
    /// members on this instance it was queued for (with a shared backend,
    /// the other instances' members get it too).
    pub fn notify_group(
        &self,
        group: &str,
        method: &str,
        params: impl serde::Serialize,
    ) -> Result<usize, CallError> {
        crate::groups::check_name(group, self.max_group_name_length).map_err(CallError::Refused)?;
        Ok(self
            .groups
            .broadcast(group, &Frame::notification(method, params)?))
    }

    /// Sends a notification to one connection, wherever it is (see
    /// [`Peer::notify_connection`](rpc_core::Peer::notify_connection)).
    pub fn notify_connection(
        &self,
        id: ConnectionId,
        method: &str,
        params: impl serde::Serialize,
    ) -> Result<bool, CallError> {
        Ok(self
            .groups
            .notify_connection(id, &Frame::notification(method, params)?))
    }

    /// How many connections of this instance are in `group`.
    pub fn group_size(&self, group: &str) -> usize {
        self.groups.local_len(group)
    }

    /// How many connections are in `group` over every instance sharing the
    /// group backend (this one's alone with the default backend).
    pub async fn member_count(&self, group: &str) -> Result<usize, BackendError> {
        self.groups.member_count(group).await
    }

    /// The groups connection `id` is in, whichever instance holds it.
    pub async fn groups_of(&self, id: ConnectionId) -> Result<Vec<String>, BackendError> {
        self.groups.groups_of(id).await
    }

    /// [`shutdown`](Self::shutdown), then [`stopped`](Self::stopped).
    pub async fn shutdown_and_wait(&self) {
        self.shutdown();
        self.stopped().await;
    }
}

/// Extra time, past the drain timeout, for connections to send their close
/// frames before they are cut.
const CLOSE_MARGIN: Duration = Duration::from_secs(2);

/// One line that says where the server listens, the limits in force and
/// the optional features that are on: what an operator checks first.
fn log_start(listener: &TcpListener, config: &crate::ServerConfig) -> io::Result<()> {
    #[cfg(feature = "tls")]
    let tls = config.tls.is_some();
    #[cfg(not(feature = "tls"))]
    let tls = false;
    let scheme = if tls { "wss" } else { "ws" };
    tracing::info!(
        url = %format_args!("{scheme}://{}", listener.local_addr()?),
        http = true,
        tls,
        explorer = config.explorer,
        metrics = %match config.metrics_addr {
            Some(addr) => format!("http://{addr}/metrics"),
            None if config.metrics => "/metrics".to_owned(),
            None => "off".to_owned(),
        },
        jsonrpc1 = config.jsonrpc1,
        max_connections = config.max_connections,
        max_connections_per_ip = %or_off(config.max_connections_per_ip),
        max_message_size = config.limits.max_message_size,
        max_pending_requests = config.max_pending_requests,
        request_timeout = %or_off(config.request_timeout.map(|t| format!("{t:?}"))),
        rate_limit = %or_off(config.rate_limit),
        "serving JSON-RPC over WebSocket and HTTP"
    );
    Ok(())
}

/// A setting that may be off, for a log line: its value, or `off`.
fn or_off(setting: Option<impl fmt::Display>) -> String {
    setting.map_or_else(|| "off".to_owned(), |value| value.to_string())
}

async fn accept_loop<S: Service>(
    listener: TcpListener,
    state: Arc<State<S>>,
    stop: &shutdown::Trigger,
    mut signal: Pin<Box<dyn Future<Output = ()> + Send>>,
) -> io::Result<()> {
    let slots = Arc::new(Semaphore::new(state.config.max_connections));
    let mut connections = JoinSet::new();
    let mut stopping = stop.signal();
    log_start(&listener, &state.config)?;
    if state.config.allowed_origins.allows_any() {
        tracing::warn!(
            "every origin may open a WebSocket (allowed_origins = *): any web page can call this server with its visitors' cookies"
        );
    }
    loop {
        tokio::select! {
            biased;
            () = &mut signal => break,
            () = stopping.fired() => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            accepted = listener.accept() => match accepted {
                Ok((stream, remote)) => {
                    let task = serve_connection(stream, remote, Arc::clone(&state), Arc::clone(&slots), stop.signal());
                    connections.spawn(task);
                }
                Err(err) => {
                    // Out of file descriptors, say: transient, so wait a
                    // little rather than spin or stop serving.
                    tracing::warn!(error = %err, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
        }
    }
    tracing::info!(connections = connections.len(), "shutting down");
    drop(listener);
    stop.fire();
    let drain = state.config.drain_timeout + CLOSE_MARGIN;
    let finished = timeout(drain, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if finished.is_err() {
        tracing::warn!(
            remaining = connections.len(),
            "connections cut after the drain timeout"
        );
        connections.shutdown().await;
    }
    Ok(())
}

/// Serves one TCP connection: HTTP, or the WebSocket it upgrades to.
async fn serve_connection<S: Service>(
    stream: TcpStream,
    remote: SocketAddr,
    state: Arc<State<S>>,
    slots: Arc<Semaphore>,
    shutdown: shutdown::Signal,
) {
    // Replies are small and latency matters more than packet count.
    let _ = stream.set_nodelay(true);
    let slot = slots.try_acquire_owned().ok();
    // A direct client counts against its address for the connection's
    // life; one behind a trusted proxy is counted at its handshake.
    let (admit, _address) = if slot.is_none() {
        let limit = state.config.max_connections;
        state.refusals.log(
            Refused::ServerFull,
            remote.ip(),
            &format_args!("{limit} connections open"),
        );
        (Admit::ServerFull, None)
    } else if state.addresses.is_trusted_proxy(remote.ip()) {
        (Admit::Yes, None)
    } else {
        match state.addresses.admit(remote.ip()) {
            Ok(address) => (Admit::Yes, address),
            Err(refusal) => {
                state
                    .refusals
                    .log(Refused::AddressLimit, remote.ip(), &refusal);
                (Admit::AddressRefused(refusal), None)
            }
        }
    };
    // Boxed, so that the HTTP phase's state (hyper's connection) is freed
    // once it ends instead of sizing this task for the connection's life.
    let accepted = Box::pin(transport::serve_tcp(
        stream,
        remote,
        admit,
        Arc::clone(&state),
        shutdown.clone(),
    ))
    .await;
    let (Some(accepted), Some(slot)) = (accepted, slot) else {
        return;
    };
    if shutdown.has_fired() {
        return;
    }
    tracing::debug!(%remote, id = %accepted.info.id(), "connection opened");
    let span = crate::spans::connection(&accepted.info);
    connection::serve(accepted, Arc::clone(&state), shutdown)
        .instrument(span)
        .await;
    drop(slot);
}
