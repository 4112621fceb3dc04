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
use std::sync::Arc;

use rpc_core::{ConnectionInfo, Peer};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};
use tokio::time::timeout;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};

use crate::config::ServerConfig;
use crate::connect::{ConnectRequest, OnConnect};
use crate::groups::GroupBackend;
use crate::peer::ServerLink;

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

/// An upgraded connection, ready to serve.
pub(crate) struct Connection {
    pub(crate) ws: WebSocketStream<WsIo>,
    pub(crate) info: ConnectionInfo,
    /// Its link back to the client, and the queue the link feeds.
    pub(crate) link: Arc<ServerLink>,
    pub(crate) outgoing: mpsc::Sender<Message>,
    pub(crate) queue: mpsc::Receiver<Message>,
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
    groups: &Arc<dyn GroupBackend>,
) -> Option<Connection> {
    // The connection's queue and link exist before the upgrade, so that
    // `on_connect` can already hold a `Peer`.
    let (outgoing, queue) = mpsc::channel(config.outgoing_queue.max(1));
    let id_source = ConnectionInfo::new();
    let link = Arc::new(ServerLink::new(
        id_source.id(),
        outgoing.clone(),
        config.peer_call_timeout,
        config.max_pending_requests,
        Arc::clone(groups),
    ));
    let peer = Peer::new(Arc::clone(&link) as Arc<dyn rpc_core::PeerLink>);
    let (accepted_tx, accepted_rx) = oneshot::channel();
    // hyper wants a `Fn` service; the one upgrade takes the sender.
    let accepted_tx = Mutex::new(Some(accepted_tx));
    let on_connect = on_connect.cloned();
    let id_source = Mutex::new(Some(id_source));
    let service = service_fn(move |request: Request<Incoming>| {
        let on_connect = on_connect.clone();
        let peer = peer.clone();
        let accepted_tx = accepted_tx.lock().ok().and_then(|mut tx| tx.take());
        let info = id_source.lock().ok().and_then(|mut info| info.take());
        async move {
            let response = match (accepted_tx, info) {
                (Some(accepted_tx), Some(info)) => {
                    let handshake = Handshake {
                        remote,
                        admit,
                        on_connect,
                        peer,
                        info,
                    };
                    upgrade(request, handshake, accepted_tx).await
                }
                // One upgrade per connection.
                _ => plain(
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
        Some(Connection {
            ws,
            info,
            link: Arc::clone(&link),
            outgoing,
            queue,
        })
    };
    match timeout(config.handshake_timeout, handshake).await {
        Ok(accepted) => accepted,
        Err(_) => {
            tracing::debug!(%remote, "handshake timed out");
            None
        }
    }
}

/// What the upgrade needs to know besides the request.
struct Handshake {
    remote: SocketAddr,
    /// False when the server is at `max_connections`.
    admit: bool,
    on_connect: Option<OnConnect>,
    peer: Peer,
    /// The connection's info, with its id, to fill in.
    info: ConnectionInfo,
}

/// Answers one HTTP request on a new connection: 101 if it is a valid
/// WebSocket upgrade that `on_connect` admits.
async fn upgrade(
    mut request: Request<Incoming>,
    handshake: Handshake,
    accepted: oneshot::Sender<Accepted>,
) -> Response<Full<Bytes>> {
    let Handshake {
        remote,
        admit,
        on_connect,
        peer,
        info,
    } = handshake;
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
    let mut info = info
        .with_remote_addr(remote)
        .with_path(uri.path())
        .with_query(uri.query().map(str::to_owned))
        .with_headers(headers.clone())
        .with_subprotocol(subprotocol.clone())
        .with_peer(peer.clone());
    if let Some(on_connect) = on_connect {
        let request = ConnectRequest::new(remote, uri.path(), uri.query(), headers.clone(), peer);
        match on_connect(request).await {
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
