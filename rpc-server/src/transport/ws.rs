//! The WebSocket handshake, over hyper: the upgrade checks, the connection
//! limit, `on_connect`, subprotocols, then the tungstenite stream.

use std::net::SocketAddr;

use http::{HeaderValue, Method, Request, Response, StatusCode, header};
use http_body_util::Full;
use hyper::body::Bytes;
use hyper::upgrade::{OnUpgrade, Upgraded};
use hyper_util::rt::TokioIo;
use std::sync::Arc;

use rpc_core::{ConnectionInfo, Peer, Transport};
use tokio::sync::oneshot;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};

use crate::addresses::{AddressSlot, Addresses};
use crate::admission::{
    BEARER_SUBPROTOCOL, ConnectRequest, OnConnect, offered_subprotocols, run_on_connect,
    subprotocol_token,
};
use crate::config::ServerConfig;
use crate::groups::GroupBackend;
use crate::origin::origin_of;
use crate::outgoing::{self, Outgoing, OutgoingBudget, Queue};
use crate::peer::{OwnedLink, ServerLink};
use crate::refusals::{Refusals, Refused};
use crate::state::State;
use crate::transport::admit::{Admit, too_many_from_address};
use crate::transport::direct_write::DirectWrites;
use crate::transport::incoming::{FrameWatch, WatchRules, tungstenite_read_buffer};
use crate::transport::read_ahead::ReadAhead;
use crate::transport::response::plain;

/// The JSON-RPC subprotocol names clients in other ecosystems offer.
pub(crate) const SUBPROTOCOLS: [&str; 2] = ["jsonrpc2.0", "jsonrpc-2.0"];

/// The stream a WebSocket connection runs on after the upgrade: large
/// messages are written and read beside tungstenite, the rest through it.
pub(crate) type WsIo = DirectWrites<ReadAhead<TokioIo<Upgraded>>>;

pub(crate) fn websocket_config(config: &ServerConfig) -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(tungstenite_read_buffer(config))
        .write_buffer_size(config.write_buffer_size)
        .max_message_size(Some(config.max_frame_size))
        .max_frame_size(Some(config.max_frame_size))
}

/// An upgraded connection, ready to serve.
pub(crate) struct Connection {
    pub(crate) ws: WebSocketStream<WsIo>,
    pub(crate) info: ConnectionInfo,
    /// Its link back to the client, and the queue the link feeds.
    pub(crate) link: OwnedLink,
    pub(crate) outgoing: Outgoing,
    pub(crate) queue: Queue,
    /// Counts the connection against its client's address, when it came
    /// through a trusted proxy.
    pub(crate) address: Option<AddressSlot>,
}

/// What the upgrade hands over once it has answered 101: everything but
/// the WebSocket itself.
pub(crate) struct Accepted {
    upgrade: OnUpgrade,
    info: ConnectionInfo,
    /// Closed if the connection never comes to be.
    link: OwnedLink,
    outgoing: Outgoing,
    queue: Queue,
    address: Option<AddressSlot>,
}

impl Accepted {
    /// Waits for hyper to hand over the connection, and wraps it.
    pub(crate) async fn into_connection(
        self,
        config: &ServerConfig,
        rules: &Arc<WatchRules>,
    ) -> Option<Connection> {
        let upgraded = self.upgrade.await.ok()?;
        let watch = FrameWatch::new(Arc::clone(rules));
        let read_ahead =
            ReadAhead::new(TokioIo::new(upgraded), config.read_buffer_size).watched(watch);
        let ws = WebSocketStream::from_raw_socket(
            DirectWrites::new(read_ahead),
            Role::Server,
            Some(websocket_config(config)),
        )
        .await;
        Some(Connection {
            ws,
            info: self.info,
            link: self.link,
            outgoing: self.outgoing,
            queue: self.queue,
            address: self.address,
        })
    }
}

/// Whether a request asks for a WebSocket upgrade.
pub(crate) fn is_upgrade<B>(request: &Request<B>) -> bool {
    let headers = request.headers();
    request.method() == Method::GET
        && header_has_token(headers, header::CONNECTION, "upgrade")
        && header_has_token(headers, header::UPGRADE, "websocket")
}

/// What a connection shares with its upgrade.
pub(crate) struct Upgrade<'a> {
    pub(crate) remote: SocketAddr,
    /// Whether the connection was refused when accepted.
    pub(crate) admit: Admit,
    pub(crate) config: &'a ServerConfig,
    pub(crate) on_connect: Option<&'a OnConnect>,
    pub(crate) groups: &'a Arc<dyn GroupBackend>,
    /// The server's budget for bytes waiting to be written.
    pub(crate) outgoing: &'a Arc<OutgoingBudget>,
    /// The per-address limits, for a client behind a trusted proxy.
    pub(crate) addresses: &'a Arc<Addresses>,
    /// The connection's rate-limit buckets, if any.
    pub(crate) rates: Option<Arc<rpc_core::CallRates>>,
    /// Where refusals are logged.
    pub(crate) refusals: &'a Refusals,
}

impl<'a> Upgrade<'a> {
    /// What `state`'s server shares with the upgrade of a connection from
    /// `remote`, admitted (or not) as `admit` says.
    pub(crate) fn new<S>(state: &'a State<S>, remote: SocketAddr, admit: Admit) -> Self {
        Self {
            remote,
            admit,
            config: &state.config,
            on_connect: state.on_connect.as_ref(),
            groups: &state.groups,
            outgoing: &state.outgoing,
            addresses: &state.addresses,
            rates: state.rates.for_connection(),
            refusals: &state.refusals,
        }
    }
}

/// Answers a WebSocket upgrade request: 101 if it is valid and
/// `on_connect` admits it (the rest is handed over through `accepted`),
/// else the refusal.
pub(crate) async fn upgrade<B: Send>(
    mut request: Request<B>,
    context: Upgrade<'_>,
    accepted: oneshot::Sender<Accepted>,
) -> Response<Full<Bytes>> {
    let Upgrade {
        remote,
        admit,
        config,
        on_connect,
        groups,
        outgoing: budget,
        addresses,
        rates,
        refusals,
    } = context;
    // hyper hands the connection over through this; a request without it
    // (HTTP/2, or a server that does not upgrade) cannot become a WebSocket.
    let Some(upgrade) = request.extensions_mut().remove::<OnUpgrade>() else {
        return plain(
            StatusCode::BAD_REQUEST,
            "this connection cannot be upgraded to a WebSocket (HTTP/1.1 is needed)",
        );
    };
    let headers = request.headers();
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
    if !config.allowed_origins.allows_request(headers) {
        refusals.log(Refused::Origin, remote.ip(), &origin_of(headers));
        return plain(
            StatusCode::FORBIDDEN,
            "this origin may not open a WebSocket here",
        );
    }
    if let Some(refusal) = admit.refusal() {
        return refusal;
    }
    // A direct client was counted against its address when accepted; one
    // behind a trusted proxy is counted now, for the WebSocket's life.
    let client = addresses.client_ip(remote, headers);
    let address = if addresses.is_trusted_proxy(remote.ip()) {
        match addresses.admit(client) {
            Ok(slot) => slot,
            Err(refusal) => {
                refusals.log(Refused::AddressLimit, client, &refusal);
                return too_many_from_address(refusal);
            }
        }
    } else {
        None
    };
    let subprotocol = choose_subprotocol(headers).map(str::to_owned);

    // The connection's queue and link exist before the upgrade, so that
    // `on_connect` can already hold a `Peer`.
    let (outgoing, queue) = outgoing::channel(config.max_queued_bytes, budget.account());
    let info = ConnectionInfo::new()
        .with_instance(groups.instance())
        .with_transport(Transport::WebSocket);
    // Whatever path this handshake ends on, a membership `on_connect`
    // made ends with it unless the connection is handed over.
    let link = OwnedLink::new(ServerLink::new(
        info.id(),
        outgoing.clone(),
        config,
        Arc::clone(groups),
    ));
    let peer = Peer::new(Arc::clone(&link) as Arc<dyn rpc_core::calls::PeerLink>);
    let uri = request.uri();
    let mut info = info
        .with_remote_addr(remote)
        .with_client_ip(client)
        .with_path(uri.path())
        .with_query(uri.query().map(str::to_owned))
        .with_headers(kept_headers(headers))
        .with_subprotocol(subprotocol.clone())
        .with_rates(rates)
        .with_call_limit(config.max_pending_requests)
        .with_peer(peer.clone());
    if let Some(on_connect) = on_connect {
        let request =
            ConnectRequest::new(remote, uri.path(), uri.query(), headers.clone(), Some(peer))
                .with_client_ip(client);
        match run_on_connect(on_connect, request, config.handshake_timeout).await {
            Ok(admission) => {
                info = info
                    .with_permissions(admission.permissions)
                    .with_extensions(admission.extensions);
            }
            Err(rejection) => {
                refusals.log(Refused::OnConnect, client, &rejection);
                return plain(rejection.status, &rejection.message);
            }
        }
    }
    let handed_over = accepted.send(Accepted {
        upgrade,
        info,
        link,
        outgoing,
        queue,
        address,
    });
    if handed_over.is_err() {
        return plain(
            StatusCode::BAD_REQUEST,
            "one WebSocket upgrade per connection",
        );
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

/// The headers a connection keeps for its lifetime: all but the upgrade's
/// own mechanics, which no handler needs, copied so that they own their
/// bytes. (hyper's header values are slices of its read buffer: kept as
/// they are, they would keep that whole buffer, 8 KiB or more, alive.)
fn kept_headers(headers: &http::HeaderMap) -> http::HeaderMap {
    // The subprotocol offer may carry a token; the one chosen is kept as
    // the connection's `subprotocol`.
    const MECHANICS: [header::HeaderName; 6] = [
        header::CONNECTION,
        header::UPGRADE,
        header::SEC_WEBSOCKET_KEY,
        header::SEC_WEBSOCKET_VERSION,
        header::SEC_WEBSOCKET_EXTENSIONS,
        header::SEC_WEBSOCKET_PROTOCOL,
    ];
    let kept = |(name, _): &(&header::HeaderName, _)| !MECHANICS.contains(name);
    let mut copy = http::HeaderMap::with_capacity(headers.iter().filter(kept).count());
    for (name, value) in headers.iter().filter(kept) {
        let mut owned = HeaderValue::from_bytes(value.as_bytes()).unwrap_or_else(|_| value.clone());
        // Credentials show as "Sensitive" in any debug print of the headers.
        owned.set_sensitive(
            value.is_sensitive() || name == header::AUTHORIZATION || name == header::COOKIE,
        );
        let name = header::HeaderName::from_bytes(name.as_str().as_bytes())
            .unwrap_or_else(|_| name.clone());
        copy.append(name, owned);
    }
    copy
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

/// The first subprotocol the client offers that we speak; else `bearer`
/// when it carries a token (a browser must get one of its offers back,
/// and never the token).
fn choose_subprotocol(headers: &http::HeaderMap) -> Option<&str> {
    offered_subprotocols(headers)
        .find(|offered| {
            SUBPROTOCOLS
                .iter()
                .any(|ours| ours.eq_ignore_ascii_case(offered))
        })
        .or_else(|| subprotocol_token(headers).map(|_| BEARER_SUBPROTOCOL))
}
