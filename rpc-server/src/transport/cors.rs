//! CORS for the HTTP transport: pages on the allowed origins may `POST`
//! calls and read `/openrpc.json`; preflights are answered per the same
//! allow-list as WebSocket handshakes.
//!
//! tower-http's layer writes the headers (preflight answers, `Vary`, the
//! credentials rule) per the Fetch standard; which origins it admits is
//! [`AllowedOrigins`]'s decision. Requests without an `Origin` (not from a
//! browser) skip it entirely.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use ::http::{HeaderName, Method, Request, Response, header};
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use rpc_core::Service;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_layer::Layer as _;

use crate::config::ServerConfig;
use crate::server::Shared;
use crate::transport::http;

/// How long a browser may reuse a preflight's answer.
const PREFLIGHT_MAX_AGE: Duration = Duration::from_secs(600);

/// The request headers a page may send with a call.
const ALLOWED_HEADERS: [HeaderName; 2] = [header::CONTENT_TYPE, header::AUTHORIZATION];

/// The CORS rules of a server with `config`.
pub(crate) fn layer(config: &ServerConfig) -> CorsLayer {
    let origins = config.allowed_origins.clone();
    CorsLayer::new()
        .allow_origin(AllowOrigin::predicate(move |_, request| {
            origins.allows_request(&request.headers)
        }))
        .allow_methods([Method::GET, Method::POST])
        .allow_headers(ALLOWED_HEADERS.to_vec())
        .allow_credentials(config.cors_credentials)
        .max_age(PREFLIGHT_MAX_AGE)
}

/// Answers a plain HTTP request that carries an `Origin`, through the CORS
/// rules.
pub(crate) async fn handle<S: Service>(
    request: Request<Incoming>,
    endpoint: Endpoint<S>,
) -> Response<Full<Bytes>> {
    let mut cors = endpoint.shared.cors.layer(endpoint.clone());
    // Always ready (the endpoint is), but the contract asks.
    let ready = std::future::poll_fn(|cx| tower_service::Service::poll_ready(&mut cors, cx)).await;
    let Ok(()) = ready;
    match tower_service::Service::call(&mut cors, request).await {
        Ok(response) => response,
        Err(never) => match never {},
    }
}

/// The HTTP endpoint as a tower service, for the CORS layer to wrap.
pub(crate) struct Endpoint<S> {
    pub(crate) shared: Arc<Shared<S>>,
    pub(crate) remote: SocketAddr,
    pub(crate) admit: super::Admit,
    pub(crate) draining: bool,
}

impl<S> Clone for Endpoint<S> {
    fn clone(&self) -> Self {
        Self {
            shared: Arc::clone(&self.shared),
            remote: self.remote,
            admit: self.admit,
            draining: self.draining,
        }
    }
}

type Answer = Pin<Box<dyn Future<Output = Result<Response<Full<Bytes>>, Infallible>> + Send>>;

impl<S: Service> tower_service::Service<Request<Incoming>> for Endpoint<S> {
    type Response = Response<Full<Bytes>>;
    type Error = Infallible;
    type Future = Answer;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<Incoming>) -> Answer {
        let Self {
            shared,
            remote,
            admit,
            draining,
        } = self.clone();
        Box::pin(async move { Ok(http::handle(request, remote, admit, draining, &shared).await) })
    }
}
