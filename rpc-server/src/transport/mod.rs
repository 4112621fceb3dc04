//! Transports: one TCP port serves both WebSocket upgrades and plain HTTP,
//! through hyper.

pub(crate) mod http;
pub(crate) mod ws;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::pin;
use std::sync::{Arc, Mutex};

use ::http::{Request, StatusCode};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use rpc_core::Service;
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio::time::timeout;

use crate::server::Shared;
use crate::shutdown;

/// Serves one TCP connection: HTTP requests until the client leaves, or the
/// WebSocket it upgrades to, which is returned to be served.
pub(crate) async fn serve_tcp<S: Service>(
    stream: TcpStream,
    remote: SocketAddr,
    admit: bool,
    shared: Arc<Shared<S>>,
    mut shutdown: shutdown::Signal,
) -> Option<ws::Connection> {
    let config = &shared.config;
    let (accepted_tx, accepted_rx) = oneshot::channel();
    // hyper wants a `Fn` service; the one upgrade takes the sender.
    let accepted_tx = Arc::new(Mutex::new(Some(accepted_tx)));
    let draining = shutdown.clone();
    let activity = Arc::new(Activity::new());
    let service = {
        let shared = Arc::clone(&shared);
        let activity = Arc::clone(&activity);
        service_fn(move |request: Request<Incoming>| {
            let shared = Arc::clone(&shared);
            let accepted_tx = Arc::clone(&accepted_tx);
            let draining = draining.has_fired();
            let busy = activity.begin();
            async move {
                let _busy = busy;
                let response = if ws::is_upgrade(&request) {
                    let taken = accepted_tx.lock().ok().and_then(|mut tx| tx.take());
                    match taken {
                        Some(accepted) => {
                            let context = ws::Upgrade {
                                remote,
                                admit,
                                config: &shared.config,
                                on_connect: shared.on_connect.as_ref(),
                                groups: &shared.groups,
                            };
                            ws::upgrade(request, context, accepted).await
                        }
                        None => ws::plain(
                            StatusCode::BAD_REQUEST,
                            "one WebSocket upgrade per connection",
                        ),
                    }
                } else {
                    http::handle(request, remote, admit, draining, &shared).await
                };
                Ok::<_, Infallible>(response)
            }
        })
    };
    let connection = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        // A client must send each request's headers this quickly (the
        // WebSocket handshake included).
        .header_read_timeout(config.handshake_timeout)
        .serve_connection(TokioIo::new(stream), service)
        .with_upgrades();
    let mut connection = pin!(connection);
    // The first request must come within the handshake timeout; later, an
    // idle keep-alive connection is closed after the keep-alive timeout.
    let mut idle_limit = config.handshake_timeout;
    loop {
        tokio::select! {
            result = connection.as_mut() => {
                if let Err(err) = result {
                    tracing::debug!(%remote, error = %err, "HTTP connection ended with an error");
                }
                break;
            }
            () = shutdown.fired() => {
                // Answer what is in flight, then close.
                connection.as_mut().graceful_shutdown();
                let _ = timeout(config.drain_timeout, connection.as_mut()).await;
                return None;
            }
            () = tokio::time::sleep_until(activity.idle_since() + idle_limit) => {
                if activity.is_idle_for(idle_limit) {
                    // Nothing in flight: just hang up.
                    tracing::debug!(%remote, "idle HTTP connection closed");
                    return None;
                }
                if activity.served_any() {
                    idle_limit = config.keep_alive_timeout;
                }
            }
        }
    }
    // The connection ended: upgraded (the upgrade was handed over before
    // the 101 went out), or closed.
    let mut accepted_rx = accepted_rx;
    let accepted = accepted_rx.try_recv().ok()?;
    timeout(config.handshake_timeout, accepted.into_connection(config))
        .await
        .ok()
        .flatten()
}

/// When a connection last had a request, and how many it has running.
struct Activity {
    state: Mutex<(usize, tokio::time::Instant, bool)>,
}

/// Marks a request as running until dropped.
struct Busy(Arc<Activity>);

impl Activity {
    fn new() -> Self {
        Self {
            state: Mutex::new((0, tokio::time::Instant::now(), false)),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, (usize, tokio::time::Instant, bool)> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn begin(self: &Arc<Self>) -> Busy {
        let mut state = self.state();
        state.0 += 1;
        state.2 = true;
        Busy(Arc::clone(self))
    }

    fn idle_since(&self) -> tokio::time::Instant {
        self.state().1
    }

    fn is_idle_for(&self, limit: std::time::Duration) -> bool {
        let state = self.state();
        state.0 == 0 && state.1.elapsed() >= limit
    }

    fn served_any(&self) -> bool {
        self.state().2
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        let mut state = self.0.state();
        state.0 -= 1;
        state.1 = tokio::time::Instant::now();
    }
}
