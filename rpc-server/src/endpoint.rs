//! The RPC endpoint as a tower service, to mount in an axum app (or any
//! hyper or tower server) instead of serving a port of its own.
//!
//! The host server owns the TCP connections and their HTTP phase; the
//! endpoint answers each request as [`serve`](crate::serve) does (WebSocket
//! upgrades, `POST` calls, `/openrpc.json`, `/health`, `/explorer`), and
//! serves each WebSocket it upgrades on a task of its own, which it drains
//! on [`Endpoint::shutdown`].

use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::net::{Ipv4Addr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use ::http::{Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Bytes;
use rpc_core::{CallError, ConnectionId, Service};
use tokio::sync::{Semaphore, oneshot};
use tokio_util::task::TaskTracker;
use tracing::Instrument as _;

use crate::addresses::AddressSlot;
use crate::connection;
use crate::groups::Frame;
use crate::refusals::Refused;
use crate::shutdown;
use crate::state::State;
use crate::transport::http::{self, RequestBody};
use crate::transport::response::{closing, plain};
use crate::transport::{Admit, ws};

/// Extra time, past the drain timeout, for WebSockets to send their close
/// frames before they are cut (as [`serve`](crate::serve) allows).
const CLOSE_MARGIN: Duration = Duration::from_secs(2);

/// The RPC endpoint of one service, as a tower `Service` for an axum
/// `Router` or any hyper or tower server; made by
/// [`ServerBuilder::endpoint`](crate::ServerBuilder::endpoint). Cheap to
/// clone: clones share the service, the limits and the connections.
///
/// Mount it with `nest_service`, so that it sees paths relative to its
/// prefix (`POST /rpc` is its `POST /`; `GET /rpc/openrpc.json` its
/// `/openrpc.json`), and serve the app with its connection info, so that
/// per-address limits and [`RpcContext::remote_addr`] know the client:
///
/// ```no_run
/// # #[cfg(feature = "axum")]
/// # mod app {
/// use std::net::SocketAddr;
/// use axum::{Router, routing::get};
/// use rpc_server::{Server, rpc_service, shutdown_signal};
///
/// struct Calc;
///
/// #[rpc_service]
/// impl Calc {
///     async fn add(&self, a: i64, b: i64) -> i64 { a + b }
/// }
///
/// # async fn run() -> std::io::Result<()> {
/// let rpc = Server::builder().endpoint(Calc);
/// let app = Router::new()
///     .route("/", get(|| async { "hello" }))
///     .nest_service("/rpc", rpc.clone());
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:9009").await?;
/// let draining = rpc.clone();
/// axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())
///     .with_graceful_shutdown(async move {
///         shutdown_signal().await;
///         draining.shutdown();
///     })
///     .await?;
/// // axum waited for its HTTP requests; the WebSockets drain here.
/// rpc.stopped().await;
/// # Ok(())
/// # }
/// # }
/// ```
///
/// What the endpoint applies is what [`serve`](crate::serve) applies to a
/// request: the allowed origins and CORS, `on_connect` and its
/// permissions, the hooks and middleware, message sizes and timeouts, the
/// incoming and outgoing byte budgets, rate limits and the explorer.
/// `max_connections` and `max_connections_per_ip` count its WebSockets.
/// What belongs to the TCP connection is the host's: TLS, the header size
/// limit, the handshake and keep-alive timeouts of the HTTP phase.
///
/// The client's address comes from axum's `ConnectInfo<SocketAddr>` (with
/// the `axum` feature) or a `SocketAddr` in the request's extensions. Without
/// either, per-address limits and `trusted_proxies` do not apply, HTTP
/// clients share one rate-limit bucket, and the address is reported as
/// `0.0.0.0:0` (logged once, at warn).
///
/// [`RpcContext::remote_addr`]: rpc_core::RpcContext::remote_addr
pub struct Endpoint<S> {
    inner: Arc<Inner<S>>,
}

struct Inner<S> {
    state: Arc<State<S>>,
    /// One per WebSocket, up to `max_connections`.
    slots: Arc<Semaphore>,
    stop: shutdown::Trigger,
    /// Fired once draining has taken too long: what is still open is cut.
    cut: shutdown::Trigger,
    websockets: TaskTracker,
    /// Whether the missing client address was logged already.
    warned_unknown_remote: AtomicBool,
}

impl<S> Clone for Endpoint<S> {
    fn clone(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<S> fmt::Debug for Endpoint<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Endpoint")
            .field("websockets", &self.inner.websockets.len())
            .finish_non_exhaustive()
    }
}

impl<S: Service> Endpoint<S> {
    pub(crate) fn new(state: State<S>) -> Self {
        if let Err(err) = state.config.check() {
            // A constant of the program, not something a peer can send:
            // refusing to start is the only safe answer.
            panic!("the RPC endpoint's settings cannot go together: {err}");
        }
        #[cfg(feature = "tls")]
        if state.config.tls.is_some() {
            tracing::warn!(
                "TLS is the host server's when the endpoint is mounted: the TLS setting is ignored"
            );
        }
        Self {
            inner: Arc::new(Inner {
                slots: Arc::new(Semaphore::new(state.config.max_connections)),
                state: Arc::new(state),
                stop: shutdown::channel().0,
                cut: shutdown::channel().0,
                websockets: TaskTracker::new(),
                warned_unknown_remote: AtomicBool::new(false),
            }),
        }
    }

    /// Starts a graceful shutdown: each WebSocket answers the requests it
    /// has received, then closes with 1001, within the drain timeout;
    /// `/health` answers 503 and no new WebSocket is opened. Returns at once.
    pub fn shutdown(&self) {
        self.inner.stop.fire();
        self.inner.websockets.close();
    }

    /// Completes once every WebSocket has closed after [`shutdown`](Self::shutdown);
    /// those still open after the drain timeout (and two seconds for their
    /// close frames) are cut.
    pub async fn stopped(&self) {
        let inner = &self.inner;
        inner.stop.signal().fired().await;
        let drain = inner.state.config.drain_timeout + CLOSE_MARGIN;
        if tokio::time::timeout(drain, inner.websockets.wait())
            .await
            .is_err()
        {
            tracing::warn!(
                remaining = inner.websockets.len(),
                "WebSockets cut after the drain timeout"
            );
            inner.cut.fire();
            inner.websockets.wait().await;
        }
    }

    /// [`shutdown`](Self::shutdown), then [`stopped`](Self::stopped).
    pub async fn shutdown_and_wait(&self) {
        self.shutdown();
        self.stopped().await;
    }

    /// Sends a notification to every current member of `group` (see
    /// [`ServerHandle::notify_group`](crate::ServerHandle::notify_group)).
    pub fn notify_group(
        &self,
        group: &str,
        method: &str,
        params: impl serde::Serialize,
    ) -> Result<usize, CallError> {
        let state = &self.inner.state;
        crate::groups::check_name(group, state.config.max_group_name_length)
            .map_err(CallError::Refused)?;
        Ok(state
            .groups
            .broadcast(group, &Frame::notification(method, params)?))
    }

    /// Sends a notification to one connection, wherever it is (see
    /// [`ServerHandle::notify_connection`](crate::ServerHandle::notify_connection)).
    pub fn notify_connection(
        &self,
        id: ConnectionId,
        method: &str,
        params: impl serde::Serialize,
    ) -> Result<bool, CallError> {
        let groups = &self.inner.state.groups;
        Ok(groups.notify_connection(id, &Frame::notification(method, params)?))
    }
}

impl<S: Service> Inner<S> {
    async fn answer(&self, request: Request<impl RequestBody>) -> Response<Full<Bytes>> {
        let remote = self.remote_addr(&request);
        // Closed by `shutdown`, with the stop signal.
        let draining = self.websockets.is_closed();
        if ws::is_upgrade(&request) {
            return self.upgrade(request, remote).await;
        }
        let (remote, admit) = (remote.unwrap_or(UNKNOWN_REMOTE), Admit::Yes);
        let span = crate::spans::request(remote, request.headers());
        http::answer(request, remote, admit, draining, Arc::clone(&self.state))
            .instrument(span)
            .await
    }

    /// Answers a WebSocket upgrade, and serves the WebSocket on a task of
    /// its own once the host has handed the connection over.
    async fn upgrade(
        &self,
        request: Request<impl RequestBody>,
        remote: Option<SocketAddr>,
    ) -> Response<Full<Bytes>> {
        let state = &self.state;
        if self.websockets.is_closed() {
            return closing(plain(
                StatusCode::SERVICE_UNAVAILABLE,
                "the server is shutting down",
            ));
        }
        let (admit, slot, address) = self.admit(remote);
        let (accepted_tx, accepted_rx) = oneshot::channel();
        let context = ws::Upgrade::new(state, remote.unwrap_or(UNKNOWN_REMOTE), admit);
        let response = ws::upgrade(request, context, accepted_tx).await;
        if let (Ok(accepted), Some(slot)) = (accepted_rx.await, slot) {
            let state = Arc::clone(state);
            let shutdown = self.stop.signal();
            let mut cut = self.cut.signal();
            self.websockets.spawn(async move {
                let handshake = state.config.handshake_timeout;
                let opened = accepted.into_connection(&state.config, &state.incoming);
                let Ok(Some(accepted)) = tokio::time::timeout(handshake, opened).await else {
                    return;
                };
                tracing::debug!(remote = ?remote, id = %accepted.info.id(), "connection opened");
                let span = crate::spans::connection(&accepted.info);
                tokio::select! {
                    () = connection::serve(accepted, state, shutdown).instrument(span) => {}
                    () = cut.fired() => {}
                }
                drop((slot, address));
            });
        }
        response
    }

    /// Whether a WebSocket may open: a slot under `max_connections`, and
    /// room under its address's limits (held for the WebSocket's life).
    fn admit(
        &self,
        remote: Option<SocketAddr>,
    ) -> (
        Admit,
        Option<tokio::sync::OwnedSemaphorePermit>,
        Option<AddressSlot>,
    ) {
        let state = &self.state;
        let ip = remote.unwrap_or(UNKNOWN_REMOTE).ip();
        let Ok(slot) = Arc::clone(&self.slots).try_acquire_owned() else {
            let limit = state.config.max_connections;
            state.refusals.log(
                Refused::ServerFull,
                ip,
                &format_args!("{limit} WebSockets open"),
            );
            return (Admit::ServerFull, None, None);
        };
        let addresses = &state.addresses;
        match remote {
            Some(remote) if !addresses.is_trusted_proxy(remote.ip()) => {
                match addresses.admit(remote.ip()) {
                    Ok(address) => (Admit::Yes, Some(slot), address),
                    Err(refusal) => {
                        state.refusals.log(Refused::AddressLimit, ip, &refusal);
                        (Admit::AddressRefused(refusal), None, None)
                    }
                }
            }
            _ => (Admit::Yes, Some(slot), None),
        }
    }

    /// The client's address, as the host server recorded it.
    fn remote_addr<B>(&self, request: &Request<B>) -> Option<SocketAddr> {
        let extensions = request.extensions();
        #[cfg(feature = "axum")]
        if let Some(axum::extract::ConnectInfo(remote)) = extensions.get() {
            return Some(*remote);
        }
        let remote = extensions.get::<SocketAddr>().copied();
        if remote.is_none() && !self.warned_unknown_remote.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                "the mounted RPC endpoint does not know its clients' addresses: per-address limits are off and HTTP clients share one rate-limit bucket; serve the axum app with into_make_service_with_connect_info::<SocketAddr>()"
            );
        }
        remote
    }
}

/// The address reported for a client whose address the host did not give.
const UNKNOWN_REMOTE: SocketAddr = SocketAddr::new(std::net::IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0);

type Answer = Pin<Box<dyn Future<Output = Result<Response<Full<Bytes>>, Infallible>> + Send>>;

impl<S: Service, B: RequestBody> tower_service::Service<Request<B>> for Endpoint<S> {
    type Response = Response<Full<Bytes>>;
    type Error = Infallible;
    type Future = Answer;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<B>) -> Answer {
        let inner = Arc::clone(&self.inner);
        Box::pin(async move { Ok(inner.answer(request).await) })
    }
}
