//! One WebSocket connection: read frames, run them, write the replies, keep
//! the connection alive, and close it cleanly.
//!
//! One task owns the socket and does both the reading and the writing: the
//! replies to every frame one read brought in are answered in place and go
//! out in one write. Calls that have to wait run on tasks of their own and
//! send their replies, like server pushes and calls to the client, through
//! the connection's queue.

use std::future::poll_fn;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use rpc_core::{DisconnectReason, Service};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio::time::{Instant, Interval, Sleep, interval_at, sleep_until, timeout};
use tokio_tungstenite::tungstenite::error::ProtocolError;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{Bytes, Error as WsError, Message, Utf8Bytes};

use crate::shutdown;
use crate::state::State;
use crate::transport::ws;

mod calls;
mod socket;

use calls::{Calls, Frame};
use socket::{Event, Socket, write_pending};

/// How long to wait for the client's half of the close handshake.
const CLOSE_GRACE: Duration = Duration::from_secs(1);

/// Serves one connection until it ends.
pub(crate) async fn serve<S: Service>(
    accepted: ws::Connection,
    state: Arc<State<S>>,
    shutdown: shutdown::Signal,
) {
    let ws::Connection {
        ws,
        info,
        link,
        outgoing,
        queue,
        // Held until the connection ends.
        address: _address,
    } = accepted;
    let connection = Arc::new(info);
    let mut open = state.open(&connection);
    let mut socket = Socket::new(ws, queue, &state.config);
    let mut calls = Calls {
        outgoing,
        in_flight: Arc::new(Semaphore::new(state.config.max_pending_requests)),
        tasks: JoinSet::new(),
        state: Arc::clone(&state),
        connection: Arc::clone(&connection),
        link,
    };
    let end = read(&mut socket, &mut calls, shutdown).await;
    close(&mut socket, &mut calls, end).await;
    tracing::debug!(%end, "connection closed");
    open.end = end;
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
        End::SlowMessage | End::TooSlow => CloseCode::Policy,
        _ => CloseCode::Protocol,
    };
    Some(CloseFrame {
        code,
        reason: Utf8Bytes::from(end.to_string()),
    })
}

/// Reads and answers until the connection ends, and says why it did.
async fn read<S: Service>(
    socket: &mut Socket,
    calls: &mut Calls<S>,
    mut shutdown: shutdown::Signal,
) -> End {
    let state = Arc::clone(&calls.state);
    let config = &state.config;
    let opened = Instant::now();
    // Everything the loop waits on besides the socket is set up once: a
    // future made anew per message would register (and unregister) a
    // waiter or a timer for every message.
    let mut shutdown = pin!(shutdown.fired());
    let account = socket.account();
    let mut too_slow = pin!(account.told_to_close());
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
    // Each ping carries its number: only the pong to the latest counts
    // (a client sending pongs of its own accord is not thereby alive).
    let mut pings_sent: u64 = 0;
    loop {
        if !calls.tasks.is_empty() {
            while calls.tasks.try_join_next().is_some() {}
        }
        tokio::select! {
            biased;
            () = &mut shutdown => return End::ServerShutdown,
            () = &mut too_slow => return End::TooSlow,
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
                pings_sent += 1;
                socket.push(Message::Ping(Bytes::copy_from_slice(&pings_sent.to_be_bytes())));
            }
            event = poll_fn(|cx| socket.poll_event(cx)) => {
                // Everything already read is handled in this one pass: the
                // waits above are polled again only once the socket has
                // nothing ready, or this connection has had its share of
                // the thread.
                let mut event = event;
                loop {
                    let message = match event {
                        Event::Received(message) => message,
                        Event::WriteFailed => return End::ClientClosed,
                    };
                    match frame_of(message, pings_sent, &mut missed_pongs) {
                        Err(end) => return end,
                        Ok(None) => {}
                        Ok(Some(frame)) => {
                            // Idle means no message: pongs to our own pings
                            // (and pings) do not count, or the default 30 s
                            // pings would keep every connection from ever
                            // being idle.
                            if idle.is_some() {
                                last_heard = Instant::now();
                            }
                            if let Some(reply) = calls.dispatch(frame) {
                                socket.push_reply(Message::Text(reply));
                            }
                        }
                    }
                    if socket.had_its_share() {
                        tokio::task::yield_now().await;
                        break;
                    }
                    match poll_fn(|cx| Poll::Ready(socket.poll_event(cx))).await {
                        Poll::Ready(next) => event = next,
                        Poll::Pending => break,
                    }
                }
            }
        }
    }
}

/// What a message received means: a frame to run, nothing (a pong, which
/// counts towards the pings answered, or a ping, which tungstenite has
/// answered), or the end of the connection.
fn frame_of(
    message: Option<Result<Message, WsError>>,
    pings_sent: u64,
    missed_pongs: &mut u32,
) -> Result<Option<Frame>, End> {
    match message {
        Some(Ok(Message::Text(text))) => Ok(Some(Frame::Text(text))),
        Some(Ok(Message::Binary(bytes))) => Ok(Some(Frame::Binary(bytes))),
        Some(Ok(Message::Pong(payload))) => {
            if *payload == pings_sent.to_be_bytes() {
                *missed_pongs = 0;
            }
            Ok(None)
        }
        // tungstenite answers pings itself.
        Some(Ok(Message::Ping(_) | Message::Frame(_))) => Ok(None),
        Some(Ok(Message::Close(_))) | None => Err(End::ClientClosed),
        Some(Err(WsError::Capacity(_))) => Err(End::TooLarge),
        Some(Err(WsError::Utf8(_))) => Err(End::InvalidUtf8),
        // Gone without a close frame: a client that went away.
        Some(Err(WsError::Protocol(ProtocolError::ResetWithoutClosingHandshake))) => {
            Err(End::ClientClosed)
        }
        Some(Err(WsError::Protocol(_))) => Err(End::ProtocolViolation),
        Some(Err(WsError::Io(err))) if err.kind() == std::io::ErrorKind::TimedOut => {
            Err(End::SlowMessage)
        }
        Some(Err(err)) => {
            tracing::debug!(error = %err, "connection failed");
            Err(End::ClientClosed)
        }
    }
}

/// Ends the connection: lets the calls already running finish (their
/// replies still go out) when `end` calls for it, then sends the close
/// frame and waits briefly for the client's.
async fn close<S: Service>(socket: &mut Socket, calls: &mut Calls<S>, end: End) {
    if end == End::ClientClosed {
        // tungstenite has queued the answer to the client's close frame
        // (its code echoed, or 1002 for one not allowed): sent at once, so
        // that the client's close completes cleanly whatever still runs.
        // Nothing more can be written after it.
        let _ = timeout(CLOSE_GRACE, socket.flush()).await;
    }
    if drains(end) && !calls.tasks.is_empty() {
        // Every request already received gets its response.
        let tasks = &mut calls.tasks;
        let drained = timeout(calls.state.config.drain_timeout, async {
            let mut writing = true;
            loop {
                tokio::select! {
                    joined = tasks.join_next() => if joined.is_none() { break },
                    // A client that can no longer take replies only waits
                    // for the calls; their replies are dropped, and none
                    // waits for room.
                    () = write_pending(socket), if writing => {
                        writing = false;
                        socket.abandon_queue();
                    }
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
    let _ = timeout(CLOSE_GRACE, socket.read_to_close()).await;
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
