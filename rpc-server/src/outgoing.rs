//! A connection's queue of text frames to send: replies of calls that ran
//! on their own tasks, server pushes, calls to the client.
//!
//! Bounded by bytes, not messages: a client that reads is never judged slow
//! because a burst of small messages arrived before its task ran, and one
//! that does not read holds at most its budget (plus one message larger
//! than the whole budget, which may still go through an empty queue).
//!
//! Like tokio's `mpsc`, but it allocates nothing until it is used: tokio's
//! channel sets aside a block of 32 slots (and cache-padded state) up
//! front, about 1.5 KiB for every connection even when nothing is ever
//! pushed to it.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};

use futures_util::task::AtomicWaker;
use tokio::sync::{Semaphore, TryAcquireError};
use tokio_tungstenite::tungstenite::Utf8Bytes;

/// A queue holding at most `budget` bytes of frames: the sending side
/// (cloned for whoever sends to the connection) and the connection's
/// receiving side.
pub(crate) fn channel(budget: usize) -> (Outgoing, Queue) {
    // A permit per byte; one acquisition takes at most `u32::MAX`.
    let budget = budget.clamp(1, u32::MAX as usize);
    let shared = Arc::new(Shared {
        frames: Mutex::new(VecDeque::new()),
        space: Semaphore::new(budget),
        budget,
        receiver: AtomicWaker::new(),
    });
    (Outgoing(Arc::clone(&shared)), Queue(shared))
}

struct Shared {
    frames: Mutex<VecDeque<Utf8Bytes>>,
    /// One permit per free byte; closed when the receiving side is gone.
    space: Semaphore,
    budget: usize,
    receiver: AtomicWaker,
}

impl Shared {
    fn frames(&self) -> MutexGuard<'_, VecDeque<Utf8Bytes>> {
        self.frames
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// What a frame takes of the budget: its length, but never more than
    /// the whole budget (so any frame fits an empty queue) nor less than one.
    fn cost(&self, frame: &Utf8Bytes) -> u32 {
        // Fits: `budget` is at most `u32::MAX`.
        frame.len().clamp(1, self.budget) as u32
    }

    fn push(&self, frame: Utf8Bytes) {
        self.frames().push_back(frame);
        self.receiver.wake();
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
pub(crate) struct Outgoing(Arc<Shared>);

impl Outgoing {
    /// Queues `frame`, waiting for room.
    pub(crate) async fn send(&self, frame: Utf8Bytes) -> Result<(), Closed> {
        let cost = self.0.cost(&frame);
        let permit = self.0.space.acquire_many(cost).await.map_err(|_| Closed)?;
        permit.forget();
        self.0.push(frame);
        Ok(())
    }

    /// Queues `frame` if there is room now.
    pub(crate) fn try_send(&self, frame: Utf8Bytes) -> Result<(), TrySendError> {
        match self.0.space.try_acquire_many(self.0.cost(&frame)) {
            Ok(permit) => {
                permit.forget();
                self.0.push(frame);
                Ok(())
            }
            Err(TryAcquireError::NoPermits) => Err(TrySendError::Full),
            Err(TryAcquireError::Closed) => Err(TrySendError::Closed),
        }
    }

    /// Whether the connection is gone.
    pub(crate) fn is_closed(&self) -> bool {
        self.0.space.is_closed()
    }
}

/// The connection's side: takes the frames in order.
pub(crate) struct Queue(Arc<Shared>);

impl Queue {
    /// The next frame, if one is queued.
    pub(crate) fn try_recv(&mut self) -> Option<Utf8Bytes> {
        let frame = self.0.frames().pop_front()?;
        self.0.space.add_permits(self.0.cost(&frame) as usize);
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

impl Drop for Queue {
    fn drop(&mut self) {
        // Senders waiting for room, and later ones, see `Closed`.
        self.0.space.close();
        self.0.frames().clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &'static str) -> Utf8Bytes {
        Utf8Bytes::from_static(s)
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
    async fn a_frame_larger_than_the_budget_fits_an_empty_queue_only() {
        let (outgoing, mut queue) = channel(4);
        assert_eq!(outgoing.try_send(text("x")), Ok(()));
        assert_eq!(
            outgoing.try_send(text("too large")),
            Err(TrySendError::Full)
        );
        assert_eq!(queue.try_recv(), Some(text("x")));
        assert_eq!(outgoing.try_send(text("too large")), Ok(()));
        assert_eq!(outgoing.try_send(text("")), Err(TrySendError::Full));
        assert_eq!(queue.try_recv(), Some(text("too large")));
        assert_eq!(outgoing.try_send(text("")), Ok(()));
    }

    #[tokio::test]
    async fn a_sender_waits_for_room_and_the_receiver_for_frames() {
        let (outgoing, mut queue) = channel(5);
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
        let (outgoing, queue) = channel(6);
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
