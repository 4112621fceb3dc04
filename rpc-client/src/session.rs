//! The connection task: one WebSocket session at a time, reconnecting
//! between them.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt as _, StreamExt as _};
use rpc_core::calls::parse_response;
use rpc_core::{ConnectionInfo, Peer};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::time::{Instant, interval_at};
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{Bytes, Message, Utf8Bytes};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::client::Client;
use crate::error::ConnectError;
use crate::link::ClientLink;
use crate::settings::Settings;
use crate::state::{ConnectionState, Outgoing};

pub(crate) type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Opens a connection to the first of the URLs that answers; the
/// connection and the index of its URL.
pub(crate) async fn open_first(settings: &Settings) -> Result<(Ws, usize), ConnectError> {
    let mut failed = None;
    for (at, url) in settings.urls.iter().enumerate() {
        match open(settings, url).await {
            Ok(ws) => return Ok((ws, at)),
            Err(err) => failed = Some(err),
        }
    }
    Err(failed.unwrap_or_else(|| ConnectError::invalid("no URL to connect to")))
}

/// Opens one WebSocket connection to `url`, within the connect timeout.
pub(crate) async fn open(settings: &Settings, url: &str) -> Result<Ws, ConnectError> {
    let limit = settings.connect_timeout;
    match tokio::time::timeout(limit, handshake(settings, url)).await {
        Ok(opened) => opened,
        Err(_) => Err(ConnectError::invalid(format!(
            "connecting to {url} timed out after {limit:?}"
        ))),
    }
}

async fn handshake(settings: &Settings, url: &str) -> Result<Ws, ConnectError> {
    let mut request = url
        .into_client_request()
        .map_err(|err| ConnectError::new(&err))?;
    request.headers_mut().extend(settings.headers.clone());
    #[cfg(feature = "tls")]
    if let Some(connector) = tls_connector(settings)? {
        let (ws, _) =
            tokio_tungstenite::connect_async_tls_with_config(request, None, false, Some(connector))
                .await
                .map_err(|err| ConnectError::new(&err))?;
        return Ok(ws);
    }
    let (ws, _) = tokio_tungstenite::connect_async(request)
        .await
        .map_err(|err| ConnectError::new(&err))?;
    Ok(ws)
}

/// The configured rustls configuration, else one trusting the webpki roots
/// and the configured extra ones; `None` when tokio-tungstenite's default
/// (the webpki roots alone) will do.
#[cfg(feature = "tls")]
fn tls_connector(
    settings: &Settings,
) -> Result<Option<tokio_tungstenite::Connector>, ConnectError> {
    use tokio_rustls::rustls;
    if let Some(config) = &settings.tls_config {
        return Ok(Some(tokio_tungstenite::Connector::Rustls(Arc::clone(
            config,
        ))));
    }
    if settings.extra_roots.is_empty() {
        return Ok(None);
    }
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots().iter().cloned());
    for cert in &settings.extra_roots {
        roots
            .add(cert.clone())
            .map_err(|err| ConnectError::invalid(format!("TLS root certificate: {err}")))?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|err| ConnectError::invalid(err.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Some(tokio_tungstenite::Connector::Rustls(Arc::new(config))))
}

/// The webpki roots tokio-tungstenite uses by default.
#[cfg(feature = "tls")]
fn webpki_roots() -> &'static [tokio_rustls::rustls::pki_types::TrustAnchor<'static>] {
    webpki_roots::TLS_SERVER_ROOTS
}

/// What runs after each reconnect (`ClientBuilder::on_reconnect`).
pub(crate) type ReconnectHook =
    Arc<dyn Fn(Client) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync>;

/// Starts the task that owns the connection (opened to URL number `at`).
pub(crate) fn start(client: Client, first: Ws, at: usize, on_reconnect: Option<ReconnectHook>) {
    tokio::spawn(run(client, first, at, on_reconnect));
}

/// How a session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ended {
    /// The client closed it.
    ByUs,
    /// The server went away on purpose (1001: it drains, for a restart).
    Drained,
    /// The connection broke, or the server closed it otherwise.
    Broken,
}

async fn run(client: Client, first: Ws, mut at: usize, on_reconnect: Option<ReconnectHook>) {
    let state = Arc::clone(&client.state);
    let mut closing = state.closing.subscribe();
    let urls = &state.settings.urls;
    let mut ws = first;
    let mut reconnected = false;
    loop {
        let hook = on_reconnect.as_ref().filter(|_| reconnected);
        let ended = session(&client, ws, reconnected, hook).await;
        state.detach();
        if ended == Ended::ByUs || *closing.borrow() {
            break;
        }
        let Some(policy) = state.settings.reconnect.clone() else {
            break;
        };
        if ended == Ended::Drained {
            tracing::debug!(url = %urls[at], "the server drained; moving on");
        }
        let mut next = None;
        for attempt in 0.. {
            if policy.max_attempts.is_some_and(|max| attempt >= max) {
                break;
            }
            // The next instance, in turn: the one left is restarting, or
            // down.
            at = (at + 1) % urls.len();
            state
                .connection
                .send_replace(ConnectionState::Reconnecting { attempt });
            // A drain is expected: the first attempt goes at once.
            let wait = if ended == Ended::Drained && attempt == 0 {
                Duration::ZERO
            } else {
                policy.delay(attempt)
            };
            tokio::select! {
                () = closed(&mut closing) => break,
                () = tokio::time::sleep(wait) => {}
            }
            let opened = tokio::select! {
                () = closed(&mut closing) => break,
                opened = open(&state.settings, &urls[at]) => opened,
            };
            match opened {
                Ok(opened) => {
                    next = Some(opened);
                    break;
                }
                Err(err) => tracing::debug!(attempt, error = %err, "reconnect failed"),
            }
        }
        match next {
            Some(opened) => {
                ws = opened;
                reconnected = true;
            }
            None => break,
        }
    }
    state.detach();
    // Closed for good: subscription and notification streams end.
    state.subscriptions.end_all();
    state.listeners.close();
    state.connection.send_replace(ConnectionState::Closed);
}

/// Serves one connection until it ends.
async fn session(
    client: &Client,
    ws: Ws,
    reconnected: bool,
    on_reconnect: Option<&ReconnectHook>,
) -> Ended {
    let state = &client.state;
    let settings = &state.settings;
    let (mut sink, mut stream) = ws.split();
    let (outgoing, mut queue) = mpsc::channel::<Outgoing>(settings.outgoing_queue);
    state.attach(outgoing.clone());
    state.connection.send_replace(ConnectionState::Connected);
    let generation = state.subscriptions.next_generation();
    if reconnected {
        // Open subscriptions are opened again on the new connection.
        let resubscribing = client.clone();
        tokio::spawn(async move {
            crate::subscriptions::reopen_all(&resubscribing, generation).await;
        });
        if let Some(hook) = on_reconnect {
            tokio::spawn(hook(client.clone()));
        }
    }
    // The client's side of the connection, for methods it serves.
    let peer = Peer::new(Arc::new(ClientLink::new(client.clone())));
    let connection = Arc::new(ConnectionInfo::new().with_peer(peer));

    let writer = tokio::spawn(async move {
        while let Some(Outgoing { message, written }) = queue.recv().await {
            let closing = matches!(message, Message::Close(_));
            // `send` flushes: once it returns, the frame is on the socket.
            if sink.send(message).await.is_err() || closing {
                break;
            }
            if let Some(written) = written {
                let _ = written.send(());
            }
        }
        let _ = sink.close().await;
    });

    // The server's calls and notifications handled at once: at the cap,
    // reading pauses until one finishes.
    let serving = Arc::new(tokio::sync::Semaphore::new(
        settings.max_pending_requests.max(1),
    ));
    let mut closing = state.closing.subscribe();
    let mut pings = settings
        .ping_interval
        .map(|every| interval_at(Instant::now() + every, every));
    let mut missed = 0;
    let ended = loop {
        tokio::select! {
            biased;
            // The loop never waits for room in the queue: a server that
            // stops reading must not stop us reading and counting pongs.
            () = closed(&mut closing) => {
                let _ = outgoing.try_send(Message::Close(None).into());
                break Ended::ByUs;
            }
            () = tick(&mut pings) => {
                if missed >= settings.max_missed_pongs {
                    tracing::debug!("server stopped answering pings");
                    break Ended::Broken;
                }
                missed += 1;
                if let Err(mpsc::error::TrySendError::Closed(_)) =
                    outgoing.try_send(Message::Ping(Bytes::new()).into())
                {
                    break Ended::Broken;
                }
            }
            message = stream.next() => {
                let text = match message {
                    Some(Ok(Message::Text(text))) => text,
                    Some(Ok(Message::Binary(bytes))) => match Utf8Bytes::try_from(bytes) {
                        Ok(text) => text,
                        Err(_) => continue,
                    },
                    Some(Ok(Message::Pong(_))) => {
                        missed = 0;
                        continue;
                    }
                    Some(Ok(Message::Ping(_) | Message::Frame(_))) => continue,
                    Some(Ok(Message::Close(Some(frame)))) if frame.code == CloseCode::Away => {
                        break Ended::Drained;
                    }
                    Some(Ok(Message::Close(_)) | Err(_)) | None => break Ended::Broken,
                };
                let Some(text) = resolve(client, text) else {
                    continue;
                };
                // At the cap, reading pauses until one of the server's calls
                // finishes (closing still works).
                let slot = tokio::select! {
                    slot = Arc::clone(&serving).acquire_owned() => slot.ok(),
                    () = closed(&mut closing) => None,
                };
                let Some(slot) = slot else {
                    let _ = outgoing.try_send(Message::Close(None).into());
                    break Ended::ByUs;
                };
                serve(client, &connection, &outgoing, text, slot);
            }
        }
    };
    state.detach();
    drop(outgoing);
    // What is queued gets a moment to go out; a server that does not read
    // does not keep the writer (and the socket) alive.
    let mut writer = writer;
    if tokio::time::timeout(Duration::from_secs(1), &mut writer)
        .await
        .is_err()
    {
        writer.abort();
    }
    ended
}

/// Hands a frame from the server to the calls it answers; returns it if it
/// is something else (the server's own calls and notifications).
fn resolve(client: &Client, text: Utf8Bytes) -> Option<Utf8Bytes> {
    let state = &client.state;
    if state.expects_responses() {
        if let Some(response) = parse_response(&text) {
            state.resolve(response);
            return None;
        }
        if text.trim_start().starts_with('[') && resolve_batch(client, &text) {
            return None;
        }
    }
    if state.subscriptions.deliver(&text) {
        return None;
    }
    Some(text)
}

/// Runs the server's calls and notifications for the served methods, on a
/// task of its own holding one of the `slot`s.
fn serve(
    client: &Client,
    connection: &Arc<ConnectionInfo>,
    outgoing: &mpsc::Sender<Outgoing>,
    text: Utf8Bytes,
    slot: tokio::sync::OwnedSemaphorePermit,
) {
    let state = Arc::clone(&client.state);
    let connection = Arc::clone(connection);
    let outgoing = outgoing.clone();
    tokio::spawn(async move {
        let reply = state
            .protocol
            .handle(&*state.service, &text, &connection)
            .await;
        if let Some(reply) = reply {
            let _ = outgoing
                .send(Message::Text(Utf8Bytes::from(reply.into_string())).into())
                .await;
        }
        // Held until the reply is queued: a server that does not read its
        // replies holds at most the cap of these tasks.
        drop(slot);
    });
}

/// Resolves a batch of responses; false if the array held anything else.
fn resolve_batch(client: &Client, text: &str) -> bool {
    let Ok(elements) = serde_json::from_str::<Vec<&serde_json::value::RawValue>>(text) else {
        return false;
    };
    let responses: Vec<_> = elements
        .iter()
        .filter_map(|e| parse_response(e.get()))
        .collect();
    if responses.len() != elements.len() {
        return false;
    }
    for response in responses {
        client.state.resolve(response);
    }
    true
}

async fn tick(interval: &mut Option<tokio::time::Interval>) {
    match interval {
        Some(interval) => {
            interval.tick().await;
        }
        None => std::future::pending().await,
    }
}

/// Completes once [`Client::close`] was called.
async fn closed(closing: &mut tokio::sync::watch::Receiver<bool>) {
    let _ = closing.wait_for(|closing| *closing).await;
}
