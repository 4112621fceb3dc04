//! JSON-RPC over plain HTTP on the WebSocket's port: `POST /` for calls,
//! `GET /openrpc.json` for the API description, `GET /health`.

use std::net::SocketAddr;

use http::{HeaderValue, Method, Request, Response, StatusCode, header};
use http_body_util::{BodyExt as _, Full, Limited};
use hyper::body::{Bytes, Incoming};
use rpc_core::{ConnectionInfo, ErrorCode, RpcError, Service, Transport};

use crate::connect::ConnectRequest;
use crate::groups::BackendHealth;
use crate::server::Shared;
use crate::transport::Admit;
use crate::transport::ws::plain;

/// `GET /health` while serving: 200 `ok`, or 200 `degraded: …` when the
/// group backend cannot reach the other instances (calls and local pushes
/// work; a balancer should keep sending clients).
fn health<S>(shared: &Shared<S>) -> Response<Full<Bytes>> {
    match shared.groups.health() {
        BackendHealth::Healthy => plain(StatusCode::OK, "ok"),
        BackendHealth::Degraded(reason) => plain(StatusCode::OK, &format!("degraded: {reason}")),
    }
}

/// Answers one plain HTTP request (CORS preflights are answered before
/// it, by [`cors`](super::cors)). A refused connection (`admit`) gets its
/// refusal, health checks aside; `draining` says a shutdown is under way.
pub(crate) async fn handle<S: Service>(
    request: Request<Incoming>,
    remote: SocketAddr,
    admit: Admit,
    draining: bool,
    shared: &Shared<S>,
) -> Response<Full<Bytes>> {
    let is_health = request.method() == Method::GET && request.uri().path() == "/health";
    if let (false, Some(refusal)) = (is_health, admit.refusal()) {
        return refusal;
    }
    match (request.method(), request.uri().path()) {
        (&Method::GET, "/health") if draining => plain(StatusCode::SERVICE_UNAVAILABLE, "draining"),
        (&Method::GET, "/health") => health(shared),
        // A page the allow-list does not name is refused before anything
        // runs, as on the WebSocket (CORS alone would only hide the answer).
        _ if !shared
            .config
            .allowed_origins
            .allows_request(request.headers()) =>
        {
            plain(
                StatusCode::FORBIDDEN,
                "this origin may not call this server",
            )
        }
        (&Method::GET, "/openrpc.json") => {
            let connection = match admitted(&request, remote, shared).await {
                Ok(connection) => connection,
                Err(refusal) => return refusal,
            };
            match shared.protocol.discover(&shared.service, &connection) {
                Some(document) => json(StatusCode::OK, document),
                None => plain(
                    StatusCode::NOT_FOUND,
                    "this service has no OpenRPC document",
                ),
            }
        }
        (&Method::POST, "/") => call(request, remote, shared).await,
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
    request: Request<Incoming>,
    remote: SocketAddr,
    shared: &Shared<S>,
) -> Response<Full<Bytes>> {
    if !is_json(&request) {
        return plain(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "JSON-RPC bodies are sent as Content-Type: application/json",
        );
    }
    let connection = match admitted(&request, remote, shared).await {
        Ok(connection) => connection,
        Err(refusal) => return refusal,
    };
    let limit = shared.config.limits.max_message_size;
    // The body's memory is reserved from the server-wide budget before it
    // is read: its declared length, or the most it may be.
    let expected = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok()?.parse::<u64>().ok())
        .unwrap_or(u64::MAX)
        .min(u64::try_from(limit).unwrap_or(u64::MAX));
    let reserving = shared
        .incoming
        .semaphore()
        .acquire_many_owned(shared.incoming.share(expected));
    let reserved = match shared.config.message_timeout {
        Some(deadline) => tokio::time::timeout(deadline, reserving).await.ok(),
        None => Some(reserving.await),
    };
    let Some(Ok(_reserved)) = reserved else {
        tracing::debug!(%remote, "no room for an HTTP body: refused");
        let mut response = plain(
            StatusCode::SERVICE_UNAVAILABLE,
            "the server is busy receiving other messages; try again",
        );
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
        return response;
    };
    let body = Limited::new(request.into_body(), limit).collect();
    let body = match shared.config.message_timeout {
        Some(deadline) => match tokio::time::timeout(deadline, body).await {
            Ok(body) => body,
            Err(_) => {
                tracing::debug!(%remote, "HTTP request body too slow: cut off");
                let mut response = plain(
                    StatusCode::REQUEST_TIMEOUT,
                    "the request body did not arrive in time",
                );
                // What is left of the body is never read: the connection
                // cannot carry another request.
                response
                    .headers_mut()
                    .insert(header::CONNECTION, HeaderValue::from_static("close"));
                return response;
            }
        },
        None => body.await,
    };
    let body = match body {
        Ok(body) => body.to_bytes(),
        Err(err) if err.is::<http_body_util::LengthLimitError>() => {
            let error = RpcError::from_code(ErrorCode::REQUEST_TOO_LARGE)
                .with_data(&format!("message exceeds {limit} bytes"));
            let body = format!(
                r#"{{"jsonrpc":"2.0","error":{},"id":null}}"#,
                serde_json::to_string(&error).unwrap_or_default()
            );
            return json(StatusCode::PAYLOAD_TOO_LARGE, body.into_bytes());
        }
        Err(_) => {
            return plain(
                StatusCode::BAD_REQUEST,
                "the request body could not be read",
            );
        }
    };
    let connection = std::sync::Arc::new(connection);
    match shared
        .protocol
        .handle_bytes(&shared.service, &body, &connection)
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

/// Runs `on_connect` for this request (the same authentication as for a
/// WebSocket), and builds what the methods will see of the "connection".
async fn admitted<S: Service>(
    request: &Request<Incoming>,
    remote: SocketAddr,
    shared: &Shared<S>,
) -> Result<ConnectionInfo, Response<Full<Bytes>>> {
    let uri = request.uri();
    let headers = request.headers();
    let client = shared.addresses.client_ip(remote, headers);
    let mut info = ConnectionInfo::new()
        .with_instance(shared.groups.instance())
        .with_transport(Transport::Http)
        .with_remote_addr(remote)
        .with_client_ip(client)
        .with_path(uri.path())
        .with_query(uri.query().map(str::to_owned))
        .with_headers(headers.clone())
        .with_rates(shared.rates.for_http_client(client));
    if let Some(on_connect) = &shared.on_connect {
        let connect = ConnectRequest::new(remote, uri.path(), uri.query(), headers.clone(), None);
        match on_connect(connect).await {
            Ok(admission) => {
                info = info
                    .with_permissions(admission.permissions)
                    .with_extensions(admission.extensions);
            }
            Err(rejection) => return Err(plain(rejection.status, &rejection.message)),
        }
    }
    Ok(info)
}

/// `application/json` (any parameters, such as a charset).
fn is_json<B>(request: &Request<B>) -> bool {
    request
        .headers()
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
