//! The connection's socket: reading frames, gathering what is to be
//! written, and writing it when nothing more is there to read.
//!
//! What it holds (replies gathered, frames handed to tungstenite and not
//! yet flushed) counts in the connection's account, with its queue,
//! against the server's outgoing budget.

use std::collections::VecDeque;
use std::future::poll_fn;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures_util::{SinkExt as _, StreamExt as _};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

use crate::config::ServerConfig;
use crate::outgoing::{Account, Queue};
use crate::transport::ws::WsIo;

/// How many frames are read before what is waiting to be written must go
/// out: replies are gathered (up to `write_buffer_size` bytes), but a
/// client that keeps sending does not hold them (or the queue) back long.
const READS_PER_WRITE: u32 = 64;

/// The room for held replies an idle connection keeps.
const IDLE_HELD_CAPACITY: usize = 8;

/// How many bytes a connection may read in one go while others wait.
const FAIR_SHARE: usize = 64 * 1024;

/// The WebSocket, what is waiting to be written to it, and the queue of
/// what others want written.
pub(super) struct Socket {
    ws: WebSocketStream<WsIo>,
    /// Replies and pings of this task, waiting for the next write.
    held: VecDeque<Message>,
    /// Their size in bytes: past `gather_limit`, reading pauses for a write.
    held_bytes: usize,
    gather_limit: usize,
    /// Replies of calls that ran on their own tasks, pushes, and calls to
    /// the client.
    queue: Queue,
    /// Written to the socket's buffer, not yet flushed, and their bytes.
    unflushed: bool,
    unflushed_bytes: usize,
    /// Where what the connection holds is counted (shared with the queue).
    account: Arc<Account>,
    /// Past this many held messages, reading stops until the client takes
    /// what we write (backpressure).
    max_held: usize,
    max_held_bytes: usize,
    reads_since_write: u32,
    /// Bytes received since the socket last had nothing to read.
    received_since_pending: usize,
    /// Messages this large are written beside tungstenite (see
    /// `transport::direct_write`)...
    direct_from: usize,
    /// ...until a close frame has gone either way: then everything goes
    /// through tungstenite, which knows what may still be sent.
    closing: bool,
}

/// What happened on the socket.
pub(super) enum Event {
    Received(Option<Result<Message, WsError>>),
    WriteFailed,
}

impl Socket {
    pub(super) fn new(ws: WebSocketStream<WsIo>, queue: Queue, config: &ServerConfig) -> Self {
        let account = Arc::clone(queue.account());
        Self {
            ws,
            held: VecDeque::new(),
            held_bytes: 0,
            gather_limit: config.write_buffer_size,
            queue,
            unflushed: false,
            unflushed_bytes: 0,
            account,
            max_held: config.outgoing_queue.max(1),
            max_held_bytes: config.max_queued_bytes.max(1),
            reads_since_write: 0,
            received_since_pending: 0,
            direct_from: config.write_buffer_size.max(1),
            closing: false,
        }
    }

    /// Holds a reply for the next write, behind whatever was queued before
    /// it was produced (a notification its own handler sent, say): frames
    /// leave in the order they were made.
    pub(super) fn push_reply(&mut self, reply: Message) {
        while let Some(text) = self.queue.try_recv() {
            self.push(Message::Text(text));
        }
        self.push(reply);
    }

    /// Holds `message` for the next write.
    pub(super) fn push(&mut self, message: Message) {
        self.held_bytes += message.len();
        self.account.add(message.len());
        self.held.push_back(message);
    }

    /// The next held message, to be handed to the socket: it still counts
    /// until a flush has written it.
    fn pop_held(&mut self) -> Option<Message> {
        let message = self.held.pop_front()?;
        self.held_bytes -= message.len();
        self.unflushed_bytes += message.len();
        Some(message)
    }

    /// Puts back a message that could not be handed to the socket yet.
    fn unpop(&mut self, message: Message) {
        self.unflushed_bytes -= message.len();
        self.held_bytes += message.len();
        self.held.push_front(message);
    }

    /// Everything handed to the socket is written.
    fn flushed(&mut self) {
        self.unflushed = false;
        self.account.sub(std::mem::take(&mut self.unflushed_bytes));
    }

    /// The account of the connection (and of its queue).
    pub(super) fn account(&self) -> Arc<Account> {
        Arc::clone(&self.account)
    }

    /// Whether what is held should be written before reading on.
    fn wants_write(&self) -> bool {
        self.reads_since_write >= READS_PER_WRITE || self.held_bytes >= self.gather_limit
    }

    /// Whether reading may go on: even while the client does not take what
    /// we write (so that a client that sends everything before it reads
    /// cannot deadlock with us), but only up to `max_held` messages and
    /// `max_held_bytes` (a few large replies weigh as much as many).
    fn may_read(&self) -> bool {
        self.held.len() < self.max_held && self.held_bytes < self.max_held_bytes
    }

    /// Whether this connection has had its fair share of the thread: a
    /// client that keeps sending gets served in turns with the others
    /// instead of until it stops. Resets the count.
    pub(super) fn had_its_share(&mut self) -> bool {
        let had = self.received_since_pending >= FAIR_SHARE;
        if had {
            self.received_since_pending = 0;
        }
        had
    }

    /// Reads the next frame; once nothing more is there to read (and at
    /// least every [`READS_PER_WRITE`] frames or `gather_limit` bytes),
    /// writes what is held and queued, and flushes.
    pub(super) fn poll_event(&mut self, cx: &mut Context<'_>) -> Poll<Event> {
        let read_first = self.may_read() && !self.wants_write();
        if read_first {
            if let Poll::Ready(event) = self.poll_read(cx) {
                return Poll::Ready(event);
            }
        }
        if self.poll_write(cx).is_err() {
            return Poll::Ready(Event::WriteFailed);
        }
        if !read_first && self.may_read() {
            if let Poll::Ready(event) = self.poll_read(cx) {
                return Poll::Ready(event);
            }
        }
        self.received_since_pending = 0;
        if self.held.is_empty() && self.held.capacity() > IDLE_HELD_CAPACITY {
            // A burst is over: an idle connection keeps no room for the next.
            self.held = VecDeque::new();
        }
        Poll::Pending
    }

    /// The next frame, counted towards the next write and the fair share.
    fn poll_read(&mut self, cx: &mut Context<'_>) -> Poll<Event> {
        let message = std::task::ready!(self.poll_next(cx));
        self.reads_since_write += 1;
        match &message {
            Some(Ok(Message::Close(_))) | Some(Err(_)) | None => self.closing = true,
            Some(Ok(message)) => self.received_since_pending += message.len(),
        }
        Poll::Ready(Event::Received(message))
    }

    /// The next message: from tungstenite, or (once tungstenite has nothing
    /// more) the large one read beside it.
    fn poll_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Message, WsError>>> {
        match self.ws.poll_next_unpin(cx) {
            Poll::Ready(message) => Poll::Ready(message),
            Poll::Pending => match self.ws.get_mut().get_mut().take_message() {
                Some(message) => Poll::Ready(Some(message)),
                None => Poll::Pending,
            },
        }
    }

    /// Reads until the client's close frame (or the end of the stream).
    pub(super) async fn read_to_close(&mut self) {
        while let Some(Ok(_)) = poll_fn(|cx| self.poll_next(cx)).await {}
    }

    /// Writes what tungstenite holds (the answer to a close frame, say).
    pub(super) async fn flush(&mut self) -> Result<(), WsError> {
        self.ws.flush().await
    }

    /// Moves what is held, then what is queued, into the socket's buffer
    /// and flushes it. A large message goes to the socket beside
    /// tungstenite's buffer, once that is flushed.
    fn poll_write(&mut self, cx: &mut Context<'_>) -> Result<(), WsError> {
        self.reads_since_write = 0;
        loop {
            match self.ws.poll_ready_unpin(cx) {
                Poll::Ready(result) => result?,
                Poll::Pending => break,
            }
            let message = match self.pop_held() {
                Some(message) => message,
                None => match self.queue.poll_recv(cx) {
                    Poll::Ready(text) => {
                        self.unflushed_bytes += text.len();
                        self.account.add(text.len());
                        Message::Text(text)
                    }
                    Poll::Pending => break,
                },
            };
            let message = if message.len() >= self.direct_from && !self.closing {
                // Whatever went before it must be out first.
                if self.unflushed {
                    match self.ws.poll_flush_unpin(cx) {
                        Poll::Ready(result) => {
                            result?;
                            self.flushed();
                        }
                        Poll::Pending => {
                            self.unpop(message);
                            break;
                        }
                    }
                }
                match self.ws.get_mut().send(message) {
                    Ok(()) => {
                        self.unflushed = true;
                        continue;
                    }
                    Err(other) => other,
                }
            } else {
                message
            };
            self.ws.start_send_unpin(message)?;
            self.unflushed = true;
        }
        if self.unflushed {
            if let Poll::Ready(result) = self.ws.poll_flush_unpin(cx) {
                result?;
                self.flushed();
            }
        }
        Ok(())
    }

    /// Writing failed: nothing queued will ever be written, so nobody waits
    /// for room in the queue any more.
    pub(super) fn abandon_queue(&mut self) {
        self.queue.close();
    }

    /// Writes what is held and queued, then `last` (the close frame), and
    /// flushes.
    pub(super) async fn send_all(&mut self, last: Message) -> Result<(), WsError> {
        self.closing = true;
        while let Some(text) = self.queue.try_recv() {
            self.push(Message::Text(text));
        }
        self.push(last);
        while let Some(message) = self.pop_held() {
            self.ws.feed(message).await?;
        }
        self.ws.flush().await?;
        self.flushed();
        Ok(())
    }
}

impl Drop for Socket {
    fn drop(&mut self) {
        self.account.sub(self.held_bytes + self.unflushed_bytes);
    }
}

/// Writes what is queued as it comes; completes only if writing fails.
pub(super) async fn write_pending(socket: &mut Socket) {
    poll_fn(|cx| match socket.poll_write(cx) {
        Ok(()) => Poll::Pending,
        Err(_) => Poll::Ready(()),
    })
    .await;
}
