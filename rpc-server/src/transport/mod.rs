//! Transports: one TCP port serves both WebSocket upgrades and plain HTTP,
//! through hyper.

mod admit;
pub(crate) mod cors;
mod counted;
pub(crate) mod direct_write;
mod diverted;
mod explorer;
pub(crate) mod http;
pub(crate) mod incoming;
pub(crate) mod metrics_listener;
mod read_ahead;
pub(crate) mod response;
pub(crate) mod ws;

pub(crate) use admit::Admit;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::pin;
use std::sync::{Arc, Mutex};

use ::http::{Request, StatusCode};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use rpc_core::Service;
use tokio::sync::oneshot;
use tokio::time::timeout;
use tracing::Instrument as _;

use crate::shutdown;
use crate::state::State;

/// Serves one TCP connection, terminating TLS first when configured.
pub(crate) async fn serve_tcp<S: Service>(
    stream: tokio::net::TcpStream,
    remote: SocketAddr,
    admit: Admit,
    state: Arc<State<S>>,
    shutdown: shutdown::Signal,
) -> Option<ws::Connection> {
    let stream = counted::Counted::new(stream, state.metrics.as_ref().map(|m| m.bytes()));
    #[cfg(feature = "tls")]
    if let Some(acceptor) = state.tls.clone() {
        let handshake = timeout(state.config.handshake_timeout, acceptor.accept(stream));
        return match handshake.await {
            Ok(Ok(stream)) => serve_io(stream, remote, admit, state, shutdown).await,
            Ok(Err(err)) => {
                tracing::debug!(%remote, error = %err, "TLS handshake failed");
                None
            }
            Err(_) => {
                tracing::debug!(%remote, "TLS handshake timed out");
                None
            }
        };
    }
    serve_io(stream, remote, admit, state, shutdown).await
}

/// Serves one connection (TCP, or TLS over it): HTTP requests until the client leaves, or the
/// WebSocket it upgrades to, which is returned to be served.
pub(crate) async fn serve_io<S: Service, IO>(
    stream: IO,
    remote: SocketAddr,
    admit: Admit,
    state: Arc<State<S>>,
    mut shutdown: shutdown::Signal,
) -> Option<ws::Connection>
where
    IO: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let config = &state.config;
    let (accepted_tx, accepted_rx) = oneshot::channel();
    // hyper wants a `Fn` service; the one upgrade takes the sender.
    let accepted_tx = Arc::new(Mutex::new(Some(accepted_tx)));
    let draining = shutdown.clone();
    let activity = Arc::new(Activity::new());
    let service = {
        let state = Arc::clone(&state);
        let activity = Arc::clone(&activity);
        service_fn(move |request: Request<Incoming>| {
            let state = Arc::clone(&state);
            let accepted_tx = Arc::clone(&accepted_tx);
            let draining = draining.has_fired();
            let busy = activity.begin();
            async move {
                let _busy = busy;
                let response = if ws::is_upgrade(&request) {
                    let taken = accepted_tx.lock().ok().and_then(|mut tx| tx.take());
                    match taken {
                        Some(accepted) => {
                            let context = ws::Upgrade::new(&state, remote, admit);
                            ws::upgrade(request, context, accepted).await
                        }
                        None => response::plain(
                            StatusCode::BAD_REQUEST,
                            "one WebSocket upgrade per connection",
                        ),
                    }
                } else {
                    let span = crate::spans::request(remote, request.headers());
                    http::answer(request, remote, admit, draining, state)
                        .instrument(span)
                        .await
                };
                Ok::<_, Infallible>(response)
            }
        })
    };
    let connection = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        // hyper's timer runs from when it starts waiting for a request's
        // headers, idle keep-alive time included: the loop below keeps the
        // tighter deadlines (the first request within the handshake
        // timeout, an idle connection closed after the keep-alive timeout).
        .header_read_timeout(config.handshake_timeout.max(config.keep_alive_timeout))
        // Past this, 431 and the connection closes: what a connection keeps
        // of its handshake's headers is bounded by it.
        .max_header_size(config.max_header_bytes)
        .serve_connection(TokioIo::new(stream), service)
        .with_upgrades();
    let mut connection = pin!(connection);
    // The first request must come within the handshake timeout; later, an
    // idle keep-alive connection is closed after the keep-alive timeout.
    // While a request runs there is no deadline here (the request's own
    // bound it: the body's `message_timeout`, the call's timeout): the loop
    // sleeps until the request ends. Once the server drains, requests still
    // arriving are answered (health checks get 503), and the connection
    // closes as soon as it is idle.
    let mut drain_deadline = None;
    loop {
        if let Some(deadline) = drain_deadline {
            if activity.is_idle() || tokio::time::Instant::now() >= deadline {
                return None;
            }
        }
        let idle_limit = if activity.served_any() {
            config.keep_alive_timeout
        } else {
            config.handshake_timeout
        };
        let wake = drain_deadline.or_else(|| activity.idle_deadline(idle_limit));
        tokio::select! {
            result = connection.as_mut() => {
                if let Err(err) = result {
                    tracing::debug!(%remote, error = %err, "HTTP connection ended with an error");
                }
                break;
            }
            () = activity.changed.notified() => {}
            () = shutdown.fired(), if drain_deadline.is_none() => {
                drain_deadline = Some(tokio::time::Instant::now() + config.drain_timeout);
            }
            () = sleep_until_some(wake) => {
                if drain_deadline.is_none() && activity.is_idle_for(idle_limit) {
                    // Nothing in flight: just hang up.
                    tracing::debug!(%remote, "idle HTTP connection closed");
                    return None;
                }
            }
        }
    }
    // The connection ended: upgraded (the upgrade was handed over before
    // the 101 went out), or closed.
    let mut accepted_rx = accepted_rx;
    let accepted = accepted_rx.try_recv().ok()?;
    // Never upgraded: dropping what was accepted closes its link.
    timeout(
        config.handshake_timeout,
        accepted.into_connection(config, &state.incoming),
    )
    .await
    .ok()
    .flatten()
}

/// Completes at `deadline`, or never without one.
async fn sleep_until_some(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

/// How busy an HTTP connection is, for closing it when idle.
struct Activity {
    state: Mutex<ActivityState>,
    /// Rung when a request ends, so the idle deadline is recomputed.
    changed: tokio::sync::Notify,
}

struct ActivityState {
    running: usize,
    /// When the last request ended (or the connection opened).
    idle_since: tokio::time::Instant,
    served_any: bool,
}

/// Marks a request as running until dropped.
struct Busy(Arc<Activity>);

impl Activity {
    fn new() -> Self {
        Self {
            state: Mutex::new(ActivityState {
                running: 0,
                idle_since: tokio::time::Instant::now(),
                served_any: false,
            }),
            changed: tokio::sync::Notify::new(),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, ActivityState> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn begin(self: &Arc<Self>) -> Busy {
        let mut state = self.state();
        state.running += 1;
        state.served_any = true;
        Busy(Arc::clone(self))
    }

    /// When the connection will have been idle for `limit`; `None` while a
    /// request runs.
    fn idle_deadline(&self, limit: std::time::Duration) -> Option<tokio::time::Instant> {
        let state = self.state();
        (state.running == 0).then(|| state.idle_since + limit)
    }

    fn is_idle(&self) -> bool {
        self.state().running == 0
    }

    fn is_idle_for(&self, limit: std::time::Duration) -> bool {
        let state = self.state();
        state.running == 0 && state.idle_since.elapsed() >= limit
    }

    fn served_any(&self) -> bool {
        self.state().served_any
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        {
            let mut state = self.0.state();
            state.running -= 1;
            state.idle_since = tokio::time::Instant::now();
        }
        self.0.changed.notify_one();
    }
}
