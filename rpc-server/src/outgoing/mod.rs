//! A connection's queue of text frames to send: replies of calls that ran
//! on their own tasks, server pushes, calls to the client.
//!
//! Bounded by bytes, not messages, so that a client that reads is never
//! judged slow because a burst of small messages arrived before its task
//! ran. A push (`try_send`) that would take the queue past its budget is
//! refused: that client is not draining what it is sent. A reply (`send`)
//! waits only while the queue is past its budget, whatever its own size, so
//! pushes never fail because a large reply is waiting, and replies are not
//! starved by a stream of pushes. The queue holds at most its budget plus
//! one message.
//!
//! Like tokio's `mpsc`, but it allocates nothing until it is used: tokio's
//! channel sets aside a block of 32 slots (and cache-padded state) up
//! front, about 1.5 KiB for every connection even when nothing is ever
//! pushed to it.
//!
//! What the queue holds counts in the connection's [`Account`], against
//! the server's [`OutgoingBudget`].

use std::collections::VecDeque;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};

use futures_util::task::AtomicWaker;
use tokio::sync::Notify;
use tokio_tungstenite::tungstenite::Utf8Bytes;

mod budget;

pub(crate) use budget::{Account, OutgoingBudget};

/// A queue of at most `budget` bytes (plus one message), counted in
/// `account`: the sending side (cloned for whoever sends to the
/// connection) and the connection's receiving side.
pub(crate) fn channel(budget: usize, account: Arc<Account>) -> (Outgoing, Queue) {
    let channel = Arc::new(Channel {
        queued: Mutex::default(),
        budget,
        closed: AtomicBool::new(false),
        room: Notify::new(),
        receiver: AtomicWaker::new(),
        account,
    });
    (Outgoing(Arc::clone(&channel)), Queue(channel))
}

/// The queue and its bookkeeping, shared by the sending and receiving sides.
struct Channel {
    queued: Mutex<Queued>,
    budget: usize,
    /// Set when the receiving side is gone.
    closed: AtomicBool,
    /// Rung when frames leave the queue (or it closes).
    room: Notify,
    receiver: AtomicWaker,
    /// The connection's count of what it holds.
    account: Arc<Account>,
}

#[derive(Default)]
struct Queued {
    frames: VecDeque<Utf8Bytes>,
    bytes: usize,
}

impl Channel {
    fn queued(&self) -> MutexGuard<'_, Queued> {
        self.queued
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Queues `frame` if `fits` says the queue (its bytes now) has room.
    fn push_if(&self, frame: Utf8Bytes, fits: impl Fn(usize) -> bool) -> Result<(), TrySendError> {
        let mut queued = self.queued();
        // Checked under the lock: nothing is queued after `close` emptied
        // the queue.
        if self.closed.load(Ordering::Acquire) {
            return Err(TrySendError::Closed);
        }
        if !fits(queued.bytes) {
            return Err(TrySendError::Full);
        }
        queued.bytes += frame.len();
        self.account.add(frame.len());
        queued.frames.push_back(frame);
        drop(queued);
        self.receiver.wake();
        Ok(())
    }
}

/// The connection is gone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Closed;

/// Why [`Outgoing::try_send`] did not queue a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TrySendError {
    /// The queue holds too many bytes already to take this frame.
    Full,
    /// The connection is gone.
    Closed,
}

/// Sends frames to a connection.
#[derive(Clone)]
pub(crate) struct Outgoing(Arc<Channel>);

impl Outgoing {
    /// Queues a reply (or a notification the caller awaits), waiting while
    /// the queue is past its budget.
    pub(crate) async fn send(&self, frame: Utf8Bytes) -> Result<(), Closed> {
        let budget = self.0.budget;
        loop {
            let mut room = pin!(self.0.room.notified());
            room.as_mut().enable();
            match self.0.push_if(frame.clone(), |bytes| bytes <= budget) {
                Ok(()) => return Ok(()),
                Err(TrySendError::Closed) => return Err(Closed),
                Err(TrySendError::Full) => room.await,
            }
        }
    }

    /// Queues a push if it fits in the budget now (any frame fits an empty
    /// queue).
    pub(crate) fn try_send(&self, frame: Utf8Bytes) -> Result<(), TrySendError> {
        let (budget, len) = (self.0.budget, frame.len());
        let pushed = self
            .0
            .push_if(frame, |bytes| bytes == 0 || bytes + len <= budget);
        if let Err(TrySendError::Full) = pushed {
            self.0.account.push_refused();
        }
        pushed
    }

    /// Whether the connection is gone.
    pub(crate) fn is_closed(&self) -> bool {
        self.0.closed.load(Ordering::Acquire)
    }

    /// Closes the connection: it does not keep up with what it is sent.
    pub(crate) fn close_as_too_slow(&self) {
        self.0.account.tell_to_close();
    }
}

/// The connection's side: takes the frames in order.
pub(crate) struct Queue(Arc<Channel>);

impl Queue {
    /// The next frame, if one is queued.
    pub(crate) fn try_recv(&mut self) -> Option<Utf8Bytes> {
        let mut queued = self.0.queued();
        let frame = queued.frames.pop_front()?;
        // Replies wait only while the queue is past its budget.
        let replies_may_wait = queued.bytes > self.0.budget;
        queued.bytes -= frame.len();
        self.0.account.sub(frame.len());
        drop(queued);
        if replies_may_wait {
            self.0.room.notify_waiters();
        }
        Some(frame)
    }

    /// The next frame, or `Pending` (woken when one is queued).
    pub(crate) fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Utf8Bytes> {
        if let Some(frame) = self.try_recv() {
            return Poll::Ready(frame);
        }
        self.0.receiver.register(cx.waker());
        // A frame queued between the check and the registration.
        match self.try_recv() {
            Some(frame) => Poll::Ready(frame),
            None => Poll::Pending,
        }
    }
}

impl Queue {
    /// The connection's account, for what it holds beside the queue.
    pub(crate) fn account(&self) -> &Arc<Account> {
        &self.0.account
    }

    /// Nothing more will be written: what is queued is dropped, and
    /// senders waiting for room, and later ones, see `Closed`.
    pub(crate) fn close(&mut self) {
        let mut queued = self.0.queued();
        self.0.closed.store(true, Ordering::Release);
        self.0.account.sub(queued.bytes);
        *queued = Queued::default();
        drop(queued);
        self.0.room.notify_waiters();
    }
}

impl Drop for Queue {
    /// The connection has ended.
    fn drop(&mut self) {
        self.close();
        self.0.account.retire();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &'static str) -> Utf8Bytes {
        Utf8Bytes::from_static(s)
    }

    fn channel(budget: usize) -> (Outgoing, Queue) {
        super::channel(budget, OutgoingBudget::new(usize::MAX).account())
    }

    #[tokio::test]
    async fn frames_come_out_in_order_up_to_the_byte_budget() {
        let (outgoing, mut queue) = channel(6);
        outgoing.send(text("aa")).await.expect("room");
        assert_eq!(outgoing.try_send(text("bbb")), Ok(()));
        assert_eq!(outgoing.try_send(text("cc")), Err(TrySendError::Full));
        assert_eq!(outgoing.try_send(text("c")), Ok(()));
        assert_eq!(outgoing.try_send(text("d")), Err(TrySendError::Full));
        assert_eq!(queue.try_recv(), Some(text("aa")));
        assert_eq!(outgoing.try_send(text("dd")), Ok(()));
        assert_eq!(queue.try_recv(), Some(text("bbb")));
        assert_eq!(queue.try_recv(), Some(text("c")));
        assert_eq!(queue.try_recv(), Some(text("dd")));
        assert_eq!(queue.try_recv(), None);
    }

    #[tokio::test]
    async fn a_push_larger_than_the_budget_fits_an_empty_queue_only() {
        let (outgoing, mut queue) = channel(4);
        assert_eq!(outgoing.try_send(text("x")), Ok(()));
        assert_eq!(
            outgoing.try_send(text("too large")),
            Err(TrySendError::Full)
        );
        assert_eq!(queue.try_recv(), Some(text("x")));
        assert_eq!(outgoing.try_send(text("too large")), Ok(()));
        assert_eq!(outgoing.try_send(text("y")), Err(TrySendError::Full));
        assert_eq!(queue.try_recv(), Some(text("too large")));
        assert_eq!(outgoing.try_send(text("y")), Ok(()));
    }

    #[tokio::test]
    async fn a_waiting_reply_neither_blocks_pushes_nor_starves() {
        let (outgoing, mut queue) = channel(6);
        assert_eq!(outgoing.try_send(text("aaaa")), Ok(()));
        // A reply goes in while the queue is within its budget, whatever
        // its size …
        outgoing.send(text("a large reply")).await.expect("room");
        // … and the next waits until the queue is back within it.
        let sender = outgoing.clone();
        let waiting = tokio::spawn(async move { sender.send(text("next reply")).await });
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished());
        assert_eq!(outgoing.try_send(text("p")), Err(TrySendError::Full));
        assert_eq!(queue.try_recv(), Some(text("aaaa")));
        assert_eq!(queue.try_recv(), Some(text("a large reply")));
        assert_eq!(waiting.await.expect("joined"), Ok(()));
        assert_eq!(queue.try_recv(), Some(text("next reply")));
        // A push that fits goes in, and a reply behind it does not wait.
        assert_eq!(outgoing.try_send(text("12345")), Ok(()));
        outgoing
            .send(text("r"))
            .await
            .expect("5 bytes are within 6");
        assert_eq!(outgoing.try_send(text("p")), Err(TrySendError::Full));
    }

    #[tokio::test]
    async fn a_sender_waits_for_room_and_the_receiver_for_frames() {
        let (outgoing, mut queue) = channel(4);
        outgoing.send(text("first")).await.expect("room");
        let sender = outgoing.clone();
        let waiting = tokio::spawn(async move { sender.send(text("second")).await });
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished(), "no room yet");
        let first = std::future::poll_fn(|cx| queue.poll_recv(cx)).await;
        assert_eq!(first, text("first"));
        assert_eq!(waiting.await.expect("joined"), Ok(()));
        let second = std::future::poll_fn(|cx| queue.poll_recv(cx)).await;
        assert_eq!(second, text("second"));
    }

    #[tokio::test]
    async fn senders_see_the_connection_go() {
        let (outgoing, queue) = channel(5);
        outgoing.send(text("unread")).await.expect("room");
        let sender = outgoing.clone();
        let waiting = tokio::spawn(async move { sender.send(text("never")).await });
        tokio::task::yield_now().await;
        drop(queue);
        assert_eq!(waiting.await.expect("joined"), Err(Closed));
        assert!(outgoing.is_closed());
        assert_eq!(outgoing.try_send(text("late")), Err(TrySendError::Closed));
    }
}
