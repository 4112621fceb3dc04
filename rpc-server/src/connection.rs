//! One WebSocket connection: read frames, run them concurrently, write the
//! replies, keep the connection alive, and close it cleanly.

use std::future::Future as _;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt as _, StreamExt as _};
use rpc_core::{ConnectionInfo, DisconnectReason, ErrorCode, RpcError, Service, parse_response};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::{Semaphore, mpsc, oneshot};
use tokio::task::JoinSet;
use tokio::time::{Instant, Interval, Sleep, interval_at, sleep_until, timeout};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::error::ProtocolError;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{Bytes, Error as WsError, Message, Utf8Bytes};

use crate::peer::ServerLink;
use crate::server::Shared;
use crate::shutdown;
use crate::transport::ws;

/// How long to wait for the client's half of the close handshake.
const CLOSE_GRACE: Duration = Duration::from_secs(1);

/// What a WebSocket can run on.
pub(crate) trait Io: AsyncRead + AsyncWrite + Unpin + Send + 'static {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send + 'static> Io for T {}

/// Serves one connection until it ends.
pub(crate) async fn serve<S: Service>(
    accepted: ws::Connection,
    shared: Arc<Shared<S>>,
    shutdown: shutdown::Signal,
) {
    let ws::Connection {
        ws,
        info,
        link,
        outgoing,
        queue,
    } = accepted;
    let connection = Arc::new(info);
    shared.connected(&connection);
    let (sink, stream) = ws.split();
    let (stop_writer, writer_stopped) = oneshot::channel();
    let reader = Reader {
        stream,
        outgoing,
        in_flight: Arc::new(Semaphore::new(shared.config.max_pending_requests)),
        tasks: JoinSet::new(),
        shared: Arc::clone(&shared),
        connection: Arc::clone(&connection),
        link: Arc::clone(&link),
    };
    let writer = tokio::spawn(write(sink, queue, writer_stopped));
    let end = reader.run(shutdown).await;
    // Queued replies and the close frame go first; then the writer stops
    // even though peers may still hold the queue's sender. A client that
    // does not read cannot hold it up for long.
    let _ = stop_writer.send(());
    let aborter = writer.abort_handle();
    if timeout(CLOSE_GRACE, writer).await.is_err() {
        aborter.abort();
    }
    tracing::debug!(%end, "connection closed");
    shared.disconnected(&connection, end);
}

type End = DisconnectReason;

/// Whether requests already received run to the end before the connection
/// is released (bounded by the drain timeout). When the client closed, its
/// replies go nowhere, but its notifications' effects still happen.
fn drains(end: End) -> bool {
    matches!(
        end,
        End::ServerShutdown | End::MaxAge | End::Idle | End::ClientClosed
    )
}

/// The close frame to send, if the client is still there to read it.
fn close_frame(end: End) -> Option<CloseFrame> {
    let code = match end {
        End::ClientClosed => return None,
        End::ServerShutdown | End::Unresponsive => CloseCode::Away,
        End::MaxAge | End::Idle => CloseCode::Normal,
        End::TooLarge => CloseCode::Size,
        End::InvalidUtf8 => CloseCode::Invalid,
        _ => CloseCode::Protocol,
    };
    Some(CloseFrame {
        code,
        reason: Utf8Bytes::from(end.to_string()),
    })
}

/// A received message holding JSON-RPC.
enum Frame {
    Text(Utf8Bytes),
    Binary(Bytes),
}

struct Reader<S, IO> {
    /// Responses to the server's own calls go here, not to the protocol.
    link: Arc<ServerLink>,
    stream: SplitStream<WebSocketStream<IO>>,
    /// Replies, pings and the close frame, to the writer.
    outgoing: mpsc::Sender<Message>,
    /// One permit per request running.
    in_flight: Arc<Semaphore>,
    tasks: JoinSet<()>,
    shared: Arc<Shared<S>>,
    connection: Arc<ConnectionInfo>,
}

impl<S: Service, IO: Io> Reader<S, IO> {
    async fn run(mut self, mut shutdown: shutdown::Signal) -> End {
        let end = self.read(&mut shutdown).await;
        if drains(end) {
            // Every request already received gets its response.
            let tasks = &mut self.tasks;
            let drained = timeout(self.shared.config.drain_timeout, async {
                while tasks.join_next().await.is_some() {}
            })
            .await;
            if drained.is_err() {
                tracing::warn!("drain timeout: closing with requests still running");
            }
        }
        self.tasks.abort_all();
        // Out of every group, and calls to the client fail, from now on.
        self.link.close();
        if let Some(frame) = close_frame(end) {
            // A client that stopped reading may never make room for it.
            let close = self.outgoing.send(Message::Close(Some(frame)));
            let _ = timeout(CLOSE_GRACE, close).await;
            drop(self.outgoing);
            // Let the client answer the close (the stream ends when it does).
            let stream = &mut self.stream;
            let _ = timeout(CLOSE_GRACE, async {
                while let Some(Ok(_)) = stream.next().await {}
            })
            .await;
        }
        end
    }

    async fn read(&mut self, shutdown: &mut shutdown::Signal) -> End {
        let shared = Arc::clone(&self.shared);
        let config = &shared.config;
        let opened = Instant::now();
        // Everything the loop waits on besides the socket is set up once:
        // a future made anew per message would register (and unregister) a
        // waiter or a timer for every message.
        let mut shutdown = pin!(shutdown.fired());
        let kick = Arc::clone(&self.link.kick);
        let mut kicked = pin!(kick.notified());
        let mut too_old = config
            .max_connection_age
            .map(|age| Box::pin(sleep_until(opened + age)));
        let mut idle = config
            .idle_timeout
            .map(|idle| Box::pin(sleep_until(opened + idle)));
        let mut last_heard = opened;
        let mut pings = config
            .ping_interval
            .map(|every| interval_at(opened + every, every));
        let mut missed_pongs = 0;
        loop {
            // Backpressure: read on only while a reply has room to go out.
            if self.outgoing.capacity() == 0 {
                tokio::select! {
                    biased;
                    () = &mut shutdown => return End::ServerShutdown,
                    () = fire(&mut too_old) => return End::MaxAge,
                    permit = self.outgoing.reserve() => match permit {
                        Ok(permit) => drop(permit),
                        Err(_) => return End::ClientClosed,
                    },
                }
            }
            if !self.tasks.is_empty() {
                while self.tasks.try_join_next().is_some() {}
            }

            tokio::select! {
                biased;
                () = &mut shutdown => return End::ServerShutdown,
                () = &mut kicked => return End::TooSlow,
                () = fire(&mut too_old) => return End::MaxAge,
                () = fire(&mut idle) => {
                    let (Some(timeout), Some(sleep)) = (config.idle_timeout, idle.as_mut()) else {
                        continue;
                    };
                    if last_heard.elapsed() >= timeout {
                        return End::Idle;
                    }
                    sleep.as_mut().reset(last_heard + timeout);
                }
                _ = tick_some(&mut pings) => {
                    if missed_pongs >= config.max_missed_pongs {
                        return End::Unresponsive;
                    }
                    missed_pongs += 1;
                    if self.outgoing.send(Message::Ping(Bytes::new())).await.is_err() {
                        return End::ClientClosed;
                    }
                }
                message = self.stream.next() => {
                    if idle.is_some() {
                        last_heard = Instant::now();
                    }
                    match message {
                        Some(Ok(Message::Text(text))) => self.dispatch(Frame::Text(text)).await,
                        Some(Ok(Message::Binary(bytes))) => self.dispatch(Frame::Binary(bytes)).await,
                        Some(Ok(Message::Pong(_))) => missed_pongs = 0,
                        // tungstenite answers pings itself.
                        Some(Ok(Message::Ping(_) | Message::Frame(_))) => {}
                        Some(Ok(Message::Close(_))) | None => return End::ClientClosed,
                        Some(Err(WsError::Capacity(_))) => return End::TooLarge,
                        Some(Err(WsError::Utf8(_))) => return End::InvalidUtf8,
                        // Gone without a close frame: a client that went away.
                        Some(Err(WsError::Protocol(ProtocolError::ResetWithoutClosingHandshake))) => {
                            return End::ClientClosed;
                        }
                        Some(Err(WsError::Protocol(_))) => return End::ProtocolViolation,
                        Some(Err(err)) => {
                            tracing::debug!(error = %err, "connection failed");
                            return End::ClientClosed;
                        }
                    }
                }
            }
        }
    }

    /// Runs one frame, or answers SERVER_OVERLOADED when
    /// `max_pending_requests` are already running. A response to one of the
    /// server's own calls goes to that call instead.
    ///
    /// Most calls complete on their first poll: those are answered right
    /// here, without a task, so that the replies to everything one read
    /// brought in go out in one write. A call that has to wait goes on in a
    /// task of its own.
    async fn dispatch(&mut self, frame: Frame) {
        if self.link.expects_responses() {
            let text = match &frame {
                Frame::Text(text) => Some(text.as_str()),
                Frame::Binary(bytes) => std::str::from_utf8(bytes).ok(),
            };
            if let Some(response) = text.and_then(parse_response) {
                if !self.link.resolve(response) {
                    tracing::debug!("a response to no pending call was ignored");
                }
                return;
            }
        }
        let Ok(permit) = Arc::clone(&self.in_flight).try_acquire_owned() else {
            let bytes = match &frame {
                Frame::Text(text) => text.as_bytes(),
                Frame::Binary(bytes) => bytes,
            };
            let overloaded = RpcError::from_code(ErrorCode::SERVER_OVERLOADED);
            if let Some(reply) = self.shared.protocol.reject(bytes, &overloaded) {
                let _ = self.outgoing.send(text_message(reply)).await;
            }
            return;
        };
        let shared = Arc::clone(&self.shared);
        let connection = Arc::clone(&self.connection);
        let mut running = Box::pin(async move {
            let protocol = &shared.protocol;
            match &frame {
                Frame::Text(text) => protocol.handle(&shared.service, text, &connection).await,
                Frame::Binary(bytes) => {
                    protocol
                        .handle_bytes(&shared.service, bytes, &connection)
                        .await
                }
            }
        });
        let first_poll = std::future::poll_fn(|cx| Poll::Ready(running.as_mut().poll(cx))).await;
        match first_poll {
            Poll::Ready(reply) => {
                drop(permit);
                if let Some(reply) = reply {
                    let _ = self.outgoing.send(text_message(reply)).await;
                }
            }
            Poll::Pending => {
                let outgoing = self.outgoing.clone();
                self.tasks.spawn(async move {
                    if let Some(reply) = running.await {
                        let _ = outgoing.send(text_message(reply)).await;
                    }
                    drop(permit);
                });
            }
        }
    }
}

fn text_message(reply: rpc_core::Reply) -> Message {
    Message::Text(Utf8Bytes::from(reply.into_string()))
}

/// Writes what the reader and the running requests queue, gathering what is
/// already waiting into one write.
async fn write<IO: Io>(
    mut sink: SplitSink<WebSocketStream<IO>, Message>,
    mut queue: mpsc::Receiver<Message>,
    mut stop: oneshot::Receiver<()>,
) {
    'outer: loop {
        let message = tokio::select! {
            biased;
            message = queue.recv() => message,
            _ = &mut stop => None,
        };
        let Some(message) = message else { break };
        let mut closing = matches!(message, Message::Close(_));
        if sink.feed(message).await.is_err() {
            break;
        }
        while !closing {
            let Ok(message) = queue.try_recv() else { break };
            closing = matches!(message, Message::Close(_));
            if sink.feed(message).await.is_err() {
                break 'outer;
            }
        }
        if sink.flush().await.is_err() || closing {
            break;
        }
    }
    // Dropping the queue makes the reader's next reply fail: it stops.
    drop(queue);
    let _ = sink.close().await;
}

/// Completes when `sleep` (if any) does.
async fn fire(sleep: &mut Option<Pin<Box<Sleep>>>) {
    match sleep {
        Some(sleep) => sleep.await,
        None => std::future::pending().await,
    }
}

async fn tick_some(interval: &mut Option<Interval>) {
    match interval {
        Some(interval) => {
            interval.tick().await;
        }
        None => std::future::pending().await,
    }
}
