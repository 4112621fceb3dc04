//! Messages for other instances, waiting for the link task to publish
//! them: a broadcast never waits on the network, and while Redis is
//! unreachable they wait here, up to a byte bound.

use std::collections::VecDeque;

use rpc_server::groups::{Frame, GroupHistory};

/// One message to publish.
#[derive(Debug)]
pub(crate) struct Pending {
    pub(crate) channel: String,
    /// The connection addressed, or `None` for a group.
    pub(crate) target: Option<u64>,
    pub(crate) frame: Frame,
    /// For a group with history: stored with its position as it is sent.
    pub(crate) history: Option<GroupHistory>,
    /// For a group with history: this instance's number for it, given
    /// when first sent and kept if it is sent again.
    pub(crate) number: Option<u64>,
}

impl Pending {
    fn size(&self) -> usize {
        self.channel.len() + self.frame.len()
    }
}

/// The queue, bounded by bytes.
#[derive(Debug)]
pub(crate) struct Outbox {
    queue: VecDeque<Pending>,
    bytes: usize,
    max_bytes: usize,
}

impl Outbox {
    pub(crate) fn new(max_bytes: usize) -> Self {
        Self {
            queue: VecDeque::new(),
            bytes: 0,
            max_bytes,
        }
    }

    /// Queues `message`, unless that would pass the bound: then it is
    /// refused (the earlier ones are kept, so what arrives stays in order
    /// with a gap at the end rather than holes in the middle).
    pub(crate) fn push(&mut self, message: Pending) -> Result<(), Pending> {
        let size = message.size();
        if self.bytes + size > self.max_bytes {
            return Err(message);
        }
        self.bytes += size;
        self.queue.push_back(message);
        Ok(())
    }

    pub(crate) fn len(&self) -> usize {
        self.queue.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    /// Puts `messages` (taken, and not sent after all) back at the front,
    /// in their order, whatever the bound: they were counted in it before.
    pub(crate) fn put_back(&mut self, messages: Vec<Pending>) {
        for message in messages.into_iter().rev() {
            self.bytes += message.size();
            self.queue.push_front(message);
        }
    }

    /// Up to `at_most` messages, oldest first.
    pub(crate) fn take(&mut self, at_most: usize) -> Vec<Pending> {
        let taken: Vec<Pending> = self.queue.drain(..at_most.min(self.queue.len())).collect();
        self.bytes -= taken.iter().map(Pending::size).sum::<usize>();
        if self.queue.is_empty() && self.queue.capacity() > 64 {
            // A burst (or an outage) is over: give its room back.
            self.queue = VecDeque::new();
        }
        taken
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(text: &str) -> Pending {
        Pending {
            channel: "c".to_owned(),
            target: None,
            frame: Frame::from(text.to_owned()),
            history: None,
            number: None,
        }
    }

    #[test]
    fn the_bound_refuses_new_messages_and_keeps_the_old() {
        let mut outbox = Outbox::new(8);
        assert!(outbox.push(message("abc")).is_ok());
        assert!(outbox.push(message("def")).is_ok());
        assert!(outbox.push(message("g")).is_err());
        let taken = outbox.take(1);
        assert_eq!(taken[0].frame.as_str(), "abc");
        assert!(outbox.push(message("g")).is_ok());
        let rest: Vec<_> = outbox.take(10).into_iter().map(|m| m.frame).collect();
        assert_eq!(
            rest,
            [Frame::from("def".to_owned()), Frame::from("g".to_owned())]
        );
        assert!(outbox.take(10).is_empty());
    }
}
