//! One WebSocket connection: read frames, run them, write the replies, keep
//! the connection alive, and close it cleanly.
//!
//! One task owns the socket and does both the reading and the writing: the
//! replies to every frame one read brought in are answered in place and go
//! out in one write. Calls that have to wait run on tasks of their own and
//! send their replies, like server pushes and calls to the client, through
//! the connection's queue.

use std::collections::VecDeque;
use std::future::{Future as _, poll_fn};
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_util::{SinkExt as _, StreamExt as _};
use rpc_core::{ConnectionInfo, DisconnectReason, ErrorCode, RpcError, Service, parse_response};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio::time::{Instant, Interval, Sleep, interval_at, sleep_until, timeout};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::error::ProtocolError;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{Bytes, Error as WsError, Message, Utf8Bytes};

use crate::config::ServerConfig;
use crate::outgoing::{Outgoing, Queue};
use crate::peer::ServerLink;
use crate::server::Shared;
use crate::shutdown;
use crate::transport::ws::{self, WsIo};

/// How long to wait for the client's half of the close handshake.
const CLOSE_GRACE: Duration = Duration::from_secs(1);

/// How many frames are read before what is waiting to be written must go
/// out: replies are gathered (up to `write_buffer_size` bytes), but a
/// client that keeps sending does not hold them (or the queue) back long.
const READS_PER_WRITE: u32 = 64;

/// How many bytes a connection may read in one go while others wait.
const FAIR_SHARE: usize = 64 * 1024;

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
    let mut socket = Socket::new(ws, queue, &shared.config);
    let mut calls = Calls {
        outgoing,
        in_flight: Arc::new(Semaphore::new(shared.config.max_pending_requests)),
        tasks: JoinSet::new(),
        shared: Arc::clone(&shared),
        connection: Arc::clone(&connection),
        link,
    };
    let end = read(&mut socket, &mut calls, shutdown).await;
    close(&mut socket, &mut calls, end).await;
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

/// The WebSocket, what is waiting to be written to it, and the queue of
/// what others want written.
struct Socket {
    ws: WebSocketStream<WsIo>,
    /// Replies and pings of this task, waiting for the next write.
    held: VecDeque<Message>,
    /// Their size in bytes: past `gather_limit`, reading pauses for a write.
    held_bytes: usize,
    gather_limit: usize,
    /// Replies of calls that ran on their own tasks, pushes, and calls to
    /// the client.
    queue: Queue,
    /// Written to the socket's buffer, not yet flushed.
    unflushed: bool,
    /// Past this many held messages, reading stops until the client takes
    /// what we write (backpressure).
    max_held: usize,
    reads_since_write: u32,
    /// Bytes received since the socket last had nothing to read.
    received_since_pending: usize,
}

/// What happened on the socket.
enum Event {
    Received(Option<Result<Message, WsError>>),
    WriteFailed,
}

impl Socket {
    fn new(ws: WebSocketStream<WsIo>, queue: Queue, config: &ServerConfig) -> Self {
        Self {
            ws,
            held: VecDeque::new(),
            held_bytes: 0,
            gather_limit: config.write_buffer_size,
            queue,
            unflushed: false,
            max_held: config.outgoing_queue.max(1),
            reads_since_write: 0,
            received_since_pending: 0,
        }
    }

    /// Holds `message` for the next write.
    fn push(&mut self, message: Message) {
        self.held_bytes += message.len();
        self.held.push_back(message);
    }

    /// Whether what is held should be written before reading on.
    fn wants_write(&self) -> bool {
        self.reads_since_write >= READS_PER_WRITE || self.held_bytes >= self.gather_limit
    }

    /// Whether reading may go on: even while the client does not take what
    /// we write (so that a client that sends everything before it reads
    /// cannot deadlock with us), but only up to `max_held` messages.
    fn may_read(&self) -> bool {
        self.held.len() < self.max_held
    }

    /// Whether this connection has had its fair share of the thread: a
    /// client that keeps sending gets served in turns with the others
    /// instead of until it stops. Resets the count.
    fn had_its_share(&mut self) -> bool {
        let had = self.received_since_pending >= FAIR_SHARE;
        if had {
            self.received_since_pending = 0;
        }
        had
    }

    /// Reads the next frame; once nothing more is there to read (and at
    /// least every [`READS_PER_WRITE`] frames or `gather_limit` bytes),
    /// writes what is held and queued, and flushes.
    fn poll_event(&mut self, cx: &mut Context<'_>) -> Poll<Event> {
        let read_first = self.may_read() && !self.wants_write();
        if read_first {
            if let Poll::Ready(message) = self.ws.poll_next_unpin(cx) {
                self.reads_since_write += 1;
                if let Some(Ok(message)) = &message {
                    self.received_since_pending += message.len();
                }
                return Poll::Ready(Event::Received(message));
            }
        }
        if self.poll_write(cx).is_err() {
            return Poll::Ready(Event::WriteFailed);
        }
        if !read_first && self.may_read() {
            if let Poll::Ready(message) = self.ws.poll_next_unpin(cx) {
                self.reads_since_write += 1;
                if let Some(Ok(message)) = &message {
                    self.received_since_pending += message.len();
                }
                return Poll::Ready(Event::Received(message));
            }
        }
        self.received_since_pending = 0;
        Poll::Pending
    }

    /// Moves what is held, then what is queued, into the socket's buffer
    /// and flushes it.
    fn poll_write(&mut self, cx: &mut Context<'_>) -> Result<(), WsError> {
        self.reads_since_write = 0;
        loop {
            match self.ws.poll_ready_unpin(cx) {
                Poll::Ready(result) => result?,
                Poll::Pending => break,
            }
            let message = match self.held.pop_front() {
                Some(message) => {
                    self.held_bytes -= message.len();
                    message
                }
                None => match self.queue.poll_recv(cx) {
                    Poll::Ready(text) => Message::Text(text),
                    Poll::Pending => break,
                },
            };
            self.ws.start_send_unpin(message)?;
            self.unflushed = true;
        }
        if self.unflushed {
            if let Poll::Ready(result) = self.ws.poll_flush_unpin(cx) {
                result?;
                self.unflushed = false;
            }
        }
        Ok(())
    }

    /// Writes what is held and queued, then `last`, and flushes.
    async fn send_all(&mut self, last: Message) -> Result<(), WsError> {
        while let Some(text) = self.queue.try_recv() {
            self.push(Message::Text(text));
        }
        self.push(last);
        while let Some(message) = self.held.pop_front() {
            self.ws.feed(message).await?;
        }
        self.held_bytes = 0;
        self.ws.flush().await
    }
}

/// The calls of one connection and what running them needs.
struct Calls<S> {
    /// For the replies of calls on their own tasks.
    outgoing: Outgoing,
    /// One permit per request running.
    in_flight: Arc<Semaphore>,
    tasks: JoinSet<()>,
    shared: Arc<Shared<S>>,
    connection: Arc<ConnectionInfo>,
    /// Responses to the server's own calls go here, not to the protocol.
    link: Arc<ServerLink>,
}

/// A received message holding JSON-RPC.
enum Frame {
    Text(Utf8Bytes),
    Binary(Bytes),
}

/// Reads and answers until the connection ends, and says why it did.
async fn read<S: Service>(
    socket: &mut Socket,
    calls: &mut Calls<S>,
    mut shutdown: shutdown::Signal,
) -> End {
    let shared = Arc::clone(&calls.shared);
    let config = &shared.config;
    let opened = Instant::now();
    // Everything the loop waits on besides the socket is set up once: a
    // future made anew per message would register (and unregister) a
    // waiter or a timer for every message.
    let mut shutdown = pin!(shutdown.fired());
    let kick = Arc::clone(&calls.link.kick);
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
        if !calls.tasks.is_empty() {
            while calls.tasks.try_join_next().is_some() {}
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
                socket.push(Message::Ping(Bytes::new()));
            }
            event = poll_fn(|cx| socket.poll_event(cx)) => {
                let message = match event {
                    Event::Received(message) => message,
                    Event::WriteFailed => return End::ClientClosed,
                };
                if idle.is_some() {
                    last_heard = Instant::now();
                }
                let frame = match message {
                    Some(Ok(Message::Text(text))) => Frame::Text(text),
                    Some(Ok(Message::Binary(bytes))) => Frame::Binary(bytes),
                    Some(Ok(Message::Pong(_))) => {
                        missed_pongs = 0;
                        continue;
                    }
                    // tungstenite answers pings itself.
                    Some(Ok(Message::Ping(_) | Message::Frame(_))) => continue,
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
                };
                if let Some(reply) = calls.dispatch(frame) {
                    socket.push(Message::Text(reply));
                }
                if socket.had_its_share() {
                    tokio::task::yield_now().await;
                }
            }
        }
    }
}

impl<S: Service> Calls<S> {
    /// Runs one frame, or answers SERVER_OVERLOADED when
    /// `max_pending_requests` are already running. A response to one of the
    /// server's own calls goes to that call instead.
    ///
    /// Most calls complete on their first poll: their reply is returned, to
    /// be written right away. A call that has to wait goes on in a task of
    /// its own and sends its reply through the queue.
    fn dispatch(&mut self, frame: Frame) -> Option<Utf8Bytes> {
        if self.link.expects_responses() {
            let text = match &frame {
                Frame::Text(text) => Some(text.as_str()),
                Frame::Binary(bytes) => std::str::from_utf8(bytes).ok(),
            };
            if let Some(response) = text.and_then(parse_response) {
                if !self.link.resolve(response) {
                    tracing::debug!("a response to no pending call was ignored");
                }
                return None;
            }
        }
        let Ok(permit) = Arc::clone(&self.in_flight).try_acquire_owned() else {
            let bytes = match &frame {
                Frame::Text(text) => text.as_bytes(),
                Frame::Binary(bytes) => bytes,
            };
            let overloaded = RpcError::from_code(ErrorCode::SERVER_OVERLOADED);
            return self
                .shared
                .protocol
                .reject(bytes, &overloaded)
                .map(reply_text);
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
        let waker = futures_util::task::noop_waker_ref();
        match running.as_mut().poll(&mut Context::from_waker(waker)) {
            Poll::Ready(reply) => reply.map(reply_text),
            Poll::Pending => {
                let outgoing = self.outgoing.clone();
                self.tasks.spawn(async move {
                    if let Some(reply) = running.await {
                        let _ = outgoing.send(reply_text(reply)).await;
                    }
                    drop(permit);
                });
                None
            }
        }
    }
}

fn reply_text(reply: rpc_core::Reply) -> Utf8Bytes {
    Utf8Bytes::from(reply.into_string())
}

/// Ends the connection: lets the calls already running finish (their
/// replies still go out) when `end` calls for it, then sends the close
/// frame and waits briefly for the client's.
async fn close<S: Service>(socket: &mut Socket, calls: &mut Calls<S>, end: End) {
    if drains(end) && !calls.tasks.is_empty() {
        // Every request already received gets its response.
        let tasks = &mut calls.tasks;
        let drained = timeout(calls.shared.config.drain_timeout, async {
            let mut writing = true;
            loop {
                tokio::select! {
                    joined = tasks.join_next() => if joined.is_none() { break },
                    // A client that stopped taking replies only waits for
                    // the calls; the replies are dropped.
                    () = write_pending(socket), if writing => writing = false,
                }
            }
        })
        .await;
        if drained.is_err() {
            tracing::warn!("drain timeout: closing with requests still running");
        }
    }
    calls.tasks.abort_all();
    // Out of every group, and calls to the client fail, from now on.
    calls.link.close();
    let Some(frame) = close_frame(end) else {
        return;
    };
    // Queued replies and the close frame go first. A client that stopped
    // reading may never make room for them.
    let sent = timeout(CLOSE_GRACE, socket.send_all(Message::Close(Some(frame)))).await;
    if !matches!(sent, Ok(Ok(()))) {
        return;
    }
    // Let the client answer the close (the stream ends when it does).
    let ws = &mut socket.ws;
    let _ = timeout(CLOSE_GRACE, async {
        while let Some(Ok(_)) = ws.next().await {}
    })
    .await;
}

/// Writes what is queued as it comes; completes only if writing fails.
async fn write_pending(socket: &mut Socket) {
    poll_fn(|cx| match socket.poll_write(cx) {
        Ok(()) => Poll::Pending,
        Err(_) => Poll::Ready(()),
    })
    .await;
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
