//! `GET /metrics` on an address of its own
//! ([`ServerConfig::metrics_addr`](crate::ServerConfig::metrics_addr)), so
//! that the metrics need not be as public as the RPC port: plain HTTP/1.1,
//! nothing else served.

use std::convert::Infallible;
use std::sync::Arc;

use http::{Method, Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::task::JoinSet;

use super::http::metrics_page;
use super::response::plain;
use crate::metrics::Metrics;

/// Serves the metrics on `listener` until the task is dropped (its
/// connections with it).
pub(crate) async fn serve(listener: TcpListener, metrics: Arc<Metrics>) {
    let mut connections = JoinSet::new();
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(err) => {
                // Out of descriptors, say: wait rather than spin.
                tracing::warn!(error = %err, "the metrics listener failed to accept");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
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
        connections.spawn(
            hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service),
        );
        // Finished connections are reaped as they go.
        while connections.try_join_next().is_some() {}
    }
}
