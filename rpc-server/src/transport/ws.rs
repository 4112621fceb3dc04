//! The WebSocket handshake, over hyper: the upgrade checks, the connection
//! limit, `on_connect`, subprotocols, then the tungstenite stream.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Mutex;

use http::{HeaderValue, Method, Request, Response, StatusCode, header};
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::service::service_fn;
use hyper::upgrade::{OnUpgrade, Upgraded};
use hyper_util::rt::TokioIo;
use rpc_core::ConnectionInfo;
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio::time::timeout;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};

use crate::config::ServerConfig;
use crate::connect::{ConnectRequest, OnConnect};

/// The JSON-RPC subprotocol names clients in other ecosystems offer.
pub(crate) const SUBPROTOCOLS: [&str; 2] = ["jsonrpc2.0", "jsonrpc-2.0"];

/// The stream a WebSocket connection runs on after the upgrade.
pub(crate) type WsIo = TokioIo<Upgraded>;

pub(crate) fn websocket_config(config: &ServerConfig) -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(config.read_buffer_size)
        .write_buffer_size(config.write_buffer_size)
        .max_message_size(Some(config.max_frame_size))
        .max_frame_size(Some(config.max_frame_size))
}

/// What the HTTP side hands over once it has answered 101.
struct Accepted {
    upgrade: OnUpgrade,
    info: ConnectionInfo,
}

/// Runs the server side of the handshake on a fresh TCP connection, within
/// the handshake timeout. `admit` false refuses the client with 503 (too
/// many connections). Returns the WebSocket and what is known of the
/// connection, or `None` if the client was refused or went away.
pub(crate) async fn accept(
    stream: TcpStream,
    remote: SocketAddr,
    admit: bool,
    config: &ServerConfig,
    on_connect: Option<&OnConnect>,
) -> Option<(WebSocketStream<WsIo>, ConnectionInfo)> {
    let (accepted_tx, accepted_rx) = oneshot::channel();
    // hyper wants a `Fn` service; the one upgrade takes the sender.
    let accepted_tx = Mutex::new(Some(accepted_tx));
    let on_connect = on_connect.cloned();
    let service = service_fn(move |request: Request<Incoming>| {
        let on_connect = on_connect.clone();
        let accepted_tx = accepted_tx.lock().ok().and_then(|mut tx| tx.take());
        async move {
            let response = match accepted_tx {
                Some(accepted_tx) => upgrade(request, remote, admit, on_connect, accepted_tx).await,
                // One upgrade per connection.
                None => plain(
                    StatusCode::BAD_REQUEST,
                    "one WebSocket upgrade per connection",
                ),
            };
            Ok::<_, Infallible>(response)
        }
    });
    let http = hyper::server::conn::http1::Builder::new()
        .serve_connection(TokioIo::new(stream), service)
        .with_upgrades();
    let handshake = async {
        // The HTTP side finishes once it has handed the connection over (or
        // the client left).
        if let Err(err) = http.await {
            tracing::debug!(%remote, error = %err, "handshake failed");
        }
        let Accepted { upgrade, info } = accepted_rx.await.ok()?;
        let upgraded = upgrade.await.ok()?;
        let ws = WebSocketStream::from_raw_socket(
            TokioIo::new(upgraded),
            Role::Server,
            Some(websocket_config(config)),
        )
        .await;
        Some((ws, info))
    };
    match timeout(config.handshake_timeout, handshake).await {
        Ok(accepted) => accepted,
        Err(_) => {
            tracing::debug!(%remote, "handshake timed out");
            None
        }
    }
}

/// Answers one HTTP request on a new connection: 101 if it is a valid
/// WebSocket upgrade that `on_connect` admits.
async fn upgrade(
    mut request: Request<Incoming>,
    remote: SocketAddr,
    admit: bool,
    on_connect: Option<OnConnect>,
    accepted: oneshot::Sender<Accepted>,
) -> Response<Full<Bytes>> {
    let headers = request.headers();
    let is_upgrade = request.method() == Method::GET
        && header_has_token(headers, header::CONNECTION, "upgrade")
        && header_has_token(headers, header::UPGRADE, "websocket");
    if !is_upgrade {
        return plain(
            StatusCode::BAD_REQUEST,
            "expected a WebSocket upgrade request",
        );
    }
    if headers
        .get(header::SEC_WEBSOCKET_VERSION)
        .map(HeaderValue::as_bytes)
        != Some(b"13")
    {
        let mut response = plain(
            StatusCode::UPGRADE_REQUIRED,
            "WebSocket version 13 is required",
        );
        response.headers_mut().insert(
            header::SEC_WEBSOCKET_VERSION,
            HeaderValue::from_static("13"),
        );
        return response;
    }
    let Some(key) = headers.get(header::SEC_WEBSOCKET_KEY) else {
        return plain(StatusCode::BAD_REQUEST, "Sec-WebSocket-Key is missing");
    };
    let accept_key = derive_accept_key(key.as_bytes());
    if !admit {
        return plain(StatusCode::SERVICE_UNAVAILABLE, "too many connections");
    }
    let subprotocol = choose_subprotocol(headers).map(str::to_owned);

    let uri = request.uri();
    let connect = || ConnectRequest::new(remote, uri.path(), uri.query(), headers.clone());
    let mut info = connect().into_info().with_subprotocol(subprotocol.clone());
    if let Some(on_connect) = on_connect {
        match on_connect(connect()).await {
            Ok(admission) => {
                info = info
                    .with_permissions(admission.permissions)
                    .with_extensions(admission.extensions);
            }
            Err(rejection) => {
                tracing::debug!(%remote, %rejection, "connection refused by on_connect");
                return plain(rejection.status, &rejection.message);
            }
        }
    }
    let upgrade = hyper::upgrade::on(&mut request);
    if accepted.send(Accepted { upgrade, info }).is_err() {
        return plain(StatusCode::SERVICE_UNAVAILABLE, "server shutting down");
    }

    let mut response = Response::new(Full::new(Bytes::new()));
    *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let headers = response.headers_mut();
    headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
    headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    if let Ok(value) = HeaderValue::from_str(&accept_key) {
        headers.insert(header::SEC_WEBSOCKET_ACCEPT, value);
    }
    // Echoed as offered: clients compare it byte for byte.
    if let Some(value) = subprotocol.and_then(|p| HeaderValue::from_str(&p).ok()) {
        headers.insert(header::SEC_WEBSOCKET_PROTOCOL, value);
    }
    response
}

fn plain(status: StatusCode, message: &str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(message.to_owned())));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

/// Whether a comma-separated header holds `token` (case-insensitively).
fn header_has_token(headers: &http::HeaderMap, name: header::HeaderName, token: &str) -> bool {
    headers
        .get_all(name)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|item| item.trim().eq_ignore_ascii_case(token))
}

/// The first subprotocol the client offers that we speak.
fn choose_subprotocol(headers: &http::HeaderMap) -> Option<&str> {
    headers
        .get_all(header::SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .find(|offered| {
            SUBPROTOCOLS
                .iter()
                .any(|ours| ours.eq_ignore_ascii_case(offered))
        })
}
