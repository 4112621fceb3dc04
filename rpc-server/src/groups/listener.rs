//! A member of one group that is not a connection: what the group is sent
//! comes out as a stream (`Peer::group_stream`), so that a subscription
//! can follow a room on whichever backend holds the groups; and, given a
//! `since`, what the group's history holds after it first.
//!
//! The seam between history and live messages: the listener joins first,
//! so live messages queue up while the history is read; then it sends the
//! history, then the live messages past the last one sent. Its cursor
//! skips what it sent already, and a gap in the live positions (its queue
//! overflowed) is read from the history too.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use futures_util::Stream;
use rpc_core::{ConnectionId, Position, Positioned};

use super::history::{Cursor, Step, untag};
use super::{BackendError, GroupBackend, HistoryPage, Member};
use crate::outgoing::{self, OutgoingBudget, Queue};

/// Messages asked of the history in one read.
const PAGE: usize = 500;

/// How long to wait before reading again when the backend could not
/// answer (its broker is away): the stream waits for it rather than lose
/// messages.
const RETRY: Duration = Duration::from_millis(250);

type Reading = Pin<Box<dyn Future<Output = Result<Option<HistoryPage>, BackendError>> + Send>>;

/// Listens to one group until dropped.
pub(crate) struct Listener {
    id: ConnectionId,
    queue: Queue,
    groups: Arc<dyn GroupBackend>,
    group: Arc<str>,
    /// The last position sent (or the client's `since`).
    cursor: Cursor,
    /// History read and not yet sent.
    ready: VecDeque<Positioned<String>>,
    /// A read of the history under way.
    reading: Option<Reading>,
    /// Set when a message did not fit the queue.
    overflowed: Arc<AtomicBool>,
}

impl Listener {
    /// A new member of `group`, holding at most `budget` bytes that were
    /// sent and not yet taken (past that, messages are dropped for it and
    /// read again from the history, where it has one). With `since`, it
    /// starts with what the history holds after it.
    pub(crate) fn join(
        group: &str,
        groups: &Arc<dyn GroupBackend>,
        budget: usize,
        since: Option<Position>,
    ) -> Self {
        // Not a connection: nothing of it is written to a socket, so it has
        // no share of the server's outgoing budget; its own bounds it.
        let account = OutgoingBudget::new(usize::MAX).account();
        let (outgoing, queue) = outgoing::channel(budget, account);
        let id = ConnectionId::next(groups.instance());
        // Live first: what is broadcast while the history is read waits in
        // the queue.
        let overflowed = Arc::new(AtomicBool::new(false));
        groups.connected(&Member::follower(id, outgoing, Arc::clone(&overflowed)));
        groups.join(group, id);
        let mut listener = Self {
            id,
            queue,
            groups: Arc::clone(groups),
            group: group.into(),
            reading: None,
            cursor: Cursor::at(since.clone()),
            ready: VecDeque::new(),
            overflowed,
        };
        if let Some(since) = since {
            listener.read_after(since.offset, Duration::ZERO);
        }
        listener
    }

    /// Starts reading the history after `offset`, after `delay`.
    fn read_after(&mut self, offset: u64, delay: Duration) {
        let groups = Arc::clone(&self.groups);
        let group = Arc::clone(&self.group);
        self.reading = Some(Box::pin(async move {
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            groups.read_history(&group, offset, PAGE).await
        }));
    }

    /// Takes what a read returned: the messages past the cursor, or the
    /// notice that they are lost.
    fn take_page(&mut self, page: Option<HistoryPage>) {
        let Some(since) = self.cursor.last().cloned() else {
            return;
        };
        let Some(page) = page else {
            // A group without history: nothing can be recovered.
            self.not_recovered(Position::new("", 0));
            return;
        };
        if !page.covers(&since) {
            self.not_recovered(page.top_position());
            return;
        }
        let full = page.messages.len() >= PAGE;
        for (offset, frame) in page.messages {
            let position = Position::new(page.epoch.clone(), offset);
            if self.cursor.step(&position) == Step::Next {
                self.cursor.advance(position.clone());
                self.ready.push_back(Positioned::Item {
                    item: frame.as_str().to_owned(),
                    position: Some(position),
                });
            }
        }
        let last = self.cursor.last().map_or(0, |last| last.offset);
        if full && last < page.top {
            self.read_after(last, Duration::ZERO);
        }
    }

    fn not_recovered(&mut self, position: Position) {
        self.cursor.advance(position.clone());
        self.ready.push_back(Positioned::NotRecovered { position });
    }

    /// What to send of a live message; `None` to skip it.
    fn take_live(&mut self, text: &str) -> Option<Positioned<String>> {
        let (position, frame) = untag(text);
        let Some(position) = position else {
            return Some(Positioned::Item {
                item: frame.to_owned(),
                position: None,
            });
        };
        match self.cursor.step(&position) {
            Step::Duplicate => return None,
            Step::Gap => {
                // Missed (the queue overflowed): from the history, which
                // holds this one too.
                let after = self.cursor.last().map_or(0, |last| last.offset);
                self.read_after(after, Duration::ZERO);
                return None;
            }
            Step::NewEpoch => {
                // The history was lost (a Redis flush, say): what came
                // before this one cannot be sent.
                let before =
                    Position::new(position.epoch.clone(), position.offset.saturating_sub(1));
                self.ready
                    .push_back(Positioned::NotRecovered { position: before });
            }
            Step::Next => {}
        }
        self.cursor.advance(position.clone());
        Some(Positioned::Item {
            item: frame.to_owned(),
            position: Some(position),
        })
    }
}

impl Stream for Listener {
    type Item = Positioned<String>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        loop {
            if let Some(item) = self.ready.pop_front() {
                return Poll::Ready(Some(item));
            }
            if let Some(reading) = self.reading.as_mut() {
                let read = std::task::ready!(reading.as_mut().poll(cx));
                self.reading = None;
                match read {
                    Ok(page) => self.take_page(page),
                    Err(err) => {
                        tracing::debug!(group = %self.group, error = %err, "cannot read a group's history yet; retrying");
                        let after = self.cursor.last().map_or(0, |last| last.offset);
                        self.read_after(after, RETRY);
                    }
                }
                continue;
            }
            let text = match self.queue.poll_recv(cx) {
                Poll::Ready(text) => text,
                Poll::Pending => {
                    // All taken: if something did not fit meanwhile, it is
                    // in the history (a quiet room would never show the gap).
                    let after = self.cursor.last().map(|last| last.offset);
                    match after {
                        Some(after) if self.overflowed.swap(false, Ordering::AcqRel) => {
                            self.read_after(after, Duration::ZERO);
                            continue;
                        }
                        _ => return Poll::Pending,
                    }
                }
            };
            if let Some(item) = self.take_live(text.as_str()) {
                // Sent after any notice the message brought.
                self.ready.push_back(item);
            }
        }
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.groups.disconnected(self.id);
    }
}
