//! JSON-RPC over plain HTTP on the WebSocket's port: `POST /` for calls,
//! `GET /openrpc.json` for the API description, `GET /health`, and the
//! API explorer at `GET /explorer`.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use http::request::Parts;
use http::{HeaderValue, Method, Request, Response, StatusCode, header};
use http_body_util::{BodyExt as _, Full, Limited};
use hyper::body::{Body, Bytes};
use rpc_core::{ConnectionInfo, ErrorCode, RpcError, Service, Transport};
use tokio::sync::OwnedSemaphorePermit;
use tower_layer::Layer as _;

use crate::admission::{ConnectRequest, run_on_connect};
use crate::groups::BackendHealth;
use crate::metrics::Metrics;
use crate::origin::origin_of;
use crate::refusals::Refused;
use crate::state::State;
use crate::transport::admit::Admit;
use crate::transport::response::{closing, plain};

/// `GET /health` while serving: 200 `ok`, or 200 `degraded: …` when the
/// group backend cannot reach the other instances (calls and local pushes
/// work; a balancer should keep sending clients).
fn health<S>(state: &State<S>) -> Response<Full<Bytes>> {
    match state.groups.health() {
        BackendHealth::Healthy => plain(StatusCode::OK, "ok"),
        BackendHealth::Degraded(reason) => plain(StatusCode::OK, &format!("degraded: {reason}")),
    }
}

/// `GET /metrics`: the OpenMetrics text.
pub(crate) fn metrics_page(metrics: &Metrics) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(metrics.encode())));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"),
    );
    response
}

/// What a request body must be for the HTTP transport: hyper's own, or
/// any other server's (axum's, when mounted) that yields bytes.
pub(crate) trait RequestBody:
    Body<Data = Bytes, Error: Into<BoxError>> + Send + 'static
{
}

impl<B> RequestBody for B where B: Body<Data = Bytes, Error: Into<BoxError>> + Send + 'static {}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Answers one plain HTTP request: through CORS when a page sent it (it
/// has an `Origin`), else directly.
pub(crate) async fn answer<S: Service>(
    request: Request<impl RequestBody>,
    remote: SocketAddr,
    admit: Admit,
    draining: bool,
    state: Arc<State<S>>,
) -> Response<Full<Bytes>> {
    if request.headers().contains_key(header::ORIGIN) {
        let endpoint = HttpEndpoint {
            state,
            remote,
            admit,
            draining,
        };
        with_cors(request, endpoint).await
    } else {
        handle(request, remote, admit, draining, &state).await
    }
}

/// Answers one plain HTTP request (CORS preflights are answered before
/// it, by [`cors`](super::cors)). A refused connection (`admit`) gets its
/// refusal, health checks aside; `draining` says a shutdown is under way.
pub(crate) async fn handle<S: Service>(
    request: Request<impl RequestBody>,
    remote: SocketAddr,
    admit: Admit,
    draining: bool,
    state: &State<S>,
) -> Response<Full<Bytes>> {
    // Split, so that no future below holds the body by reference (axum's
    // body is `Send` but not `Sync`).
    let (request, body) = request.into_parts();
    // Health checks and scrapes are answered even at a limit: that is when
    // they matter.
    let exempt =
        request.method == Method::GET && matches!(request.uri.path(), "/health" | "/metrics");
    if let (false, Some(refusal)) = (exempt, admit.refusal()) {
        return refusal;
    }
    match (&request.method, request.uri.path()) {
        (&Method::GET, "/health") if draining => plain(StatusCode::SERVICE_UNAVAILABLE, "draining"),
        (&Method::GET, "/health") => health(state),
        // On the RPC port only when no address of their own is set.
        (&Method::GET, "/metrics") if state.config.metrics_addr.is_none() => match &state.metrics {
            Some(metrics) => metrics_page(metrics),
            None => plain(StatusCode::NOT_FOUND, "not found"),
        },
        // A page the allow-list does not name is refused before anything
        // runs, as on the WebSocket (CORS alone would only hide the answer).
        _ if !state
            .config
            .allowed_origins
            .allows_request(&request.headers) =>
        {
            let origin = origin_of(&request.headers);
            state.refusals.log(Refused::Origin, remote.ip(), &origin);
            plain(
                StatusCode::FORBIDDEN,
                "this origin may not call this server",
            )
        }
        (&Method::GET, "/openrpc.json") => {
            let connection = match admitted(&request, remote, state).await {
                Ok(connection) => connection,
                Err(refusal) => return refusal,
            };
            match state.protocol.discover(&state.service, &connection) {
                Some(document) => json(StatusCode::OK, document),
                None => plain(
                    StatusCode::NOT_FOUND,
                    "this service has no OpenRPC document",
                ),
            }
        }
        (&Method::GET, path) if state.config.explorer && path.starts_with("/explorer") => {
            super::explorer::asset(path)
                .unwrap_or_else(|| plain(StatusCode::NOT_FOUND, "not found"))
        }
        (&Method::POST, "/") => call(request, body, remote, state).await,
        (_, "/") => {
            let mut response = plain(
                StatusCode::METHOD_NOT_ALLOWED,
                "JSON-RPC calls are POSTed to /",
            );
            response
                .headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static("POST"));
            response
        }
        _ => plain(StatusCode::NOT_FOUND, "not found"),
    }
}

/// `POST /`: the body is one JSON-RPC message (a call, a notification or a
/// batch); the reply is the body of a 200, or a 204 when there is none.
async fn call<S: Service>(
    request: Parts,
    body: impl RequestBody,
    remote: SocketAddr,
    state: &State<S>,
) -> Response<Full<Bytes>> {
    if !is_json(&request.headers) {
        return plain(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "JSON-RPC bodies are sent as Content-Type: application/json",
        );
    }
    let connection = match admitted(&request, remote, state).await {
        Ok(connection) => connection,
        Err(refusal) => return refusal,
    };
    // The body's room in the budget is held until the call is answered.
    let (body, _room) = match read_body(&request.headers, body, remote, state).await {
        Ok(read) => read,
        Err(refusal) => return refusal,
    };
    let connection = std::sync::Arc::new(connection);
    match state
        .protocol
        .handle_bytes(&state.service, &body, &connection)
        .await
    {
        Some(reply) => json(StatusCode::OK, reply.into_bytes()),
        None => {
            let mut response = Response::new(Full::new(Bytes::new()));
            *response.status_mut() = StatusCode::NO_CONTENT;
            response
        }
    }
}

/// Reads a call's body: room for it is reserved from the server-wide
/// budget first (its declared length, or the most it may be), then it must
/// arrive within the message timeout and the size limit.
async fn read_body<S>(
    headers: &http::HeaderMap,
    body: impl RequestBody,
    remote: SocketAddr,
    state: &State<S>,
) -> Result<(Bytes, OwnedSemaphorePermit), Response<Full<Bytes>>> {
    let limit = state.config.limits.max_message_size;
    let expected = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok()?.parse::<u64>().ok())
        .unwrap_or(u64::MAX)
        .min(u64::try_from(limit).unwrap_or(u64::MAX));
    let budget = &state.incoming.budget;
    let reserving = budget
        .semaphore()
        .acquire_many_owned(budget.share(expected));
    let Some(Ok(room)) = within(state.config.message_timeout, reserving).await else {
        let limit = state.config.max_incoming_bytes;
        state.refusals.log(
            Refused::IncomingBudget,
            remote.ip(),
            &format_args!("{limit} bytes held by unfinished messages"),
        );
        return Err(closing(plain(
            StatusCode::SERVICE_UNAVAILABLE,
            "the server is busy receiving other messages; try again",
        )));
    };
    let body = Limited::new(body, limit).collect();
    let Some(body) = within(state.config.message_timeout, body).await else {
        let limit = state.config.message_timeout.unwrap_or_default();
        state
            .refusals
            .log(Refused::SlowBody, remote.ip(), &format_args!("{limit:?}"));
        // What is left of the body is never read: the connection cannot
        // carry another request.
        return Err(closing(plain(
            StatusCode::REQUEST_TIMEOUT,
            "the request body did not arrive in time",
        )));
    };
    match body {
        Ok(body) => Ok((body.to_bytes(), room)),
        Err(err) if err.is::<http_body_util::LengthLimitError>() => {
            let error = RpcError::from_code(ErrorCode::REQUEST_TOO_LARGE)
                .with_data(&format!("message exceeds {limit} bytes"));
            let body = format!(
                r#"{{"jsonrpc":"2.0","error":{},"id":null}}"#,
                serde_json::to_string(&error).unwrap_or_default()
            );
            Err(json(StatusCode::PAYLOAD_TOO_LARGE, body.into_bytes()))
        }
        Err(_) => Err(plain(
            StatusCode::BAD_REQUEST,
            "the request body could not be read",
        )),
    }
}

/// `future`'s output, or `None` if `limit` passes first.
async fn within<F: std::future::Future>(limit: Option<Duration>, future: F) -> Option<F::Output> {
    match limit {
        Some(limit) => tokio::time::timeout(limit, future).await.ok(),
        None => Some(future.await),
    }
}

/// Runs `on_connect` for this request (the same authentication as for a
/// WebSocket), and builds what the methods will see of the "connection".
async fn admitted<S: Service>(
    request: &Parts,
    remote: SocketAddr,
    state: &State<S>,
) -> Result<ConnectionInfo, Response<Full<Bytes>>> {
    let uri = &request.uri;
    let headers = &request.headers;
    let client = state.addresses.client_ip(remote, headers);
    let mut info = ConnectionInfo::new()
        .with_instance(state.groups.instance())
        .with_transport(Transport::Http)
        .with_remote_addr(remote)
        .with_client_ip(client)
        .with_path(uri.path())
        .with_query(uri.query().map(str::to_owned))
        .with_headers(headers.clone())
        .with_rates(state.rates.for_http_client(client));
    if let Some(on_connect) = &state.on_connect {
        let connect = ConnectRequest::new(remote, uri.path(), uri.query(), headers.clone(), None)
            .with_client_ip(client);
        match run_on_connect(on_connect, connect, state.config.handshake_timeout).await {
            Ok(admission) => {
                info = info
                    .with_permissions(admission.permissions)
                    .with_extensions(admission.extensions);
            }
            Err(rejection) => {
                state.refusals.log(Refused::OnConnect, client, &rejection);
                return Err(plain(rejection.status, &rejection.message));
            }
        }
    }
    Ok(info)
}

/// `application/json` (any parameters, such as a charset).
fn is_json(headers: &http::HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .is_some_and(|mime| mime.trim().eq_ignore_ascii_case("application/json"))
}

fn json(status: StatusCode, body: Vec<u8>) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// Answers a plain HTTP request that carries an `Origin`, through the CORS
/// rules ([`cors`](super::cors)).
pub(crate) async fn with_cors<S: Service, B: RequestBody>(
    request: Request<B>,
    endpoint: HttpEndpoint<S>,
) -> Response<Full<Bytes>> {
    let mut cors = endpoint.state.cors.layer(endpoint.clone());
    // Always ready (the endpoint is), but the contract asks.
    let ready =
        std::future::poll_fn(|cx| tower_service::Service::<Request<B>>::poll_ready(&mut cors, cx))
            .await;
    let Ok(()) = ready;
    match tower_service::Service::call(&mut cors, request).await {
        Ok(response) => response,
        Err(never) => match never {},
    }
}

/// The HTTP endpoint as a tower service, for the CORS layer to wrap.
pub(crate) struct HttpEndpoint<S> {
    pub(crate) state: Arc<State<S>>,
    pub(crate) remote: SocketAddr,
    pub(crate) admit: Admit,
    pub(crate) draining: bool,
}

impl<S> Clone for HttpEndpoint<S> {
    fn clone(&self) -> Self {
        Self {
            state: Arc::clone(&self.state),
            remote: self.remote,
            admit: self.admit,
            draining: self.draining,
        }
    }
}

type Answer = Pin<Box<dyn Future<Output = Result<Response<Full<Bytes>>, Infallible>> + Send>>;

impl<S: Service, B: RequestBody> tower_service::Service<Request<B>> for HttpEndpoint<S> {
    type Response = Response<Full<Bytes>>;
    type Error = Infallible;
    type Future = Answer;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<B>) -> Answer {
        let Self {
            state,
            remote,
            admit,
            draining,
        } = self.clone();
        Box::pin(async move { Ok(handle(request, remote, admit, draining, &state).await) })
    }
}
