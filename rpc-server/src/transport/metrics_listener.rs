//! `GET /metrics` on an address of its own
//! ([`ServerConfig::metrics_addr`](crate::ServerConfig::metrics_addr)), so
//! that the metrics need not be as public as the RPC port: plain HTTP/1.1,
//! nothing else served.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use http::{Method, Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use super::http::metrics_page;
use super::response::plain;
use crate::config::ServerConfig;
use crate::metrics::Metrics;

/// Connections served at once: scrapers keep one each, so this leaves room
/// for several and a person with curl. Past it, a new connection is closed
/// at once (an idle one can hold a slot for the keep-alive timeout only).
pub(crate) const MAX_CONNECTIONS: usize = 32;

/// Serves the metrics on `listener` until the task is dropped (its
/// connections with it). A connection gets the RPC port's header bounds:
/// its request's headers within the handshake timeout (or the keep-alive
/// timeout, if longer) of waiting for them, idle time included, and at
/// most `max_header_bytes` of them.
pub(crate) async fn serve(listener: TcpListener, metrics: Arc<Metrics>, config: ServerConfig) {
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let mut connections = JoinSet::new();
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(err) => {
                // Out of descriptors, say: wait rather than spin.
                tracing::warn!(error = %err, "the metrics listener failed to accept");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        // Finished connections are reaped as they go.
        while connections.try_join_next().is_some() {}
        let Ok(slot) = Arc::clone(&slots).try_acquire_owned() else {
            tracing::debug!("metrics listener full: connection closed");
            continue;
        };
        let metrics = Arc::clone(&metrics);
        let service = service_fn(move |request: Request<Incoming>| {
            let response = if request.method() == Method::GET && request.uri().path() == "/metrics"
            {
                metrics_page(&metrics)
            } else {
                plain(StatusCode::NOT_FOUND, "only GET /metrics is served here")
            };
            async move { Ok::<Response<Full<Bytes>>, Infallible>(response) }
        });
        let connection = hyper::server::conn::http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(config.handshake_timeout.max(config.keep_alive_timeout))
            .max_header_size(config.max_header_bytes)
            .serve_connection(TokioIo::new(stream), service);
        connections.spawn(async move {
            let _ = connection.await;
            drop(slot);
        });
    }
}
