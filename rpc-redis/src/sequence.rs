//! Numbering what an instance publishes on each channel, and spotting the
//! numbers that never arrived: Redis pub/sub drops messages silently
//! (a subscriber reconnecting, a Redis restart), and a gap in a sender's
//! numbers is how a receiver learns that its members missed some.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};

use rpc_server::groups::InstanceId;

/// Channels numbered at once at most (16 bytes each, whatever their
/// names' length: 1 MiB): past it the numbering starts over (receivers
/// take a number that goes back as a restart, not a loss). A channel
/// nobody hears now cannot be forgotten: its listener may be away for a
/// moment (a Redis restart), and must see the gap when it is back.
const MAX_NUMBERED_CHANNELS: usize = 65_536;

/// Senders remembered per channel at most: past it the channel's are
/// forgotten (anyone who can publish on the Redis can make up senders).
const MAX_SENDERS_PER_CHANNEL: usize = 256;

/// The sending side: the next number per channel, by a keyed hash of its
/// name (a name is never kept).
#[derive(Debug, Default)]
pub(crate) struct Numbering {
    hasher: RandomState,
    next: HashMap<u64, u64>,
}

impl Numbering {
    pub(crate) fn next(&mut self, channel: &str) -> u64 {
        let key = self.hasher.hash_one(channel);
        if let Some(next) = self.next.get_mut(&key) {
            *next += 1;
            return *next;
        }
        if self.next.len() >= MAX_NUMBERED_CHANNELS {
            self.next.clear();
        }
        self.next.insert(key, 1);
        1
    }

    /// Channels numbered now.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.next.len()
    }
}

/// The receiving side: the last number seen per channel and sender.
#[derive(Debug, Default)]
pub(crate) struct Gaps {
    last: HashMap<String, HashMap<InstanceId, u64>>,
}

impl Gaps {
    /// Records message `seq` from `origin` on `channel`; returns how many
    /// of that sender's messages before it never arrived.
    pub(crate) fn record(&mut self, channel: &str, origin: InstanceId, seq: u64) -> u64 {
        let senders = match self.last.get_mut(channel) {
            Some(senders) => senders,
            None => self.last.entry(channel.to_owned()).or_default(),
        };
        if senders.len() >= MAX_SENDERS_PER_CHANNEL && !senders.contains_key(&origin) {
            // Made-up senders (or a very long run of restarts): start over.
            senders.clear();
        }
        let previous = senders.insert(origin, seq);
        match previous {
            // A later number than expected: the ones between were lost.
            Some(last) if seq > last => seq - last - 1,
            // The first from this sender since we listen, or its numbering
            // started over.
            _ => 0,
        }
    }

    /// We stopped listening to `channel`: what comes after is not owed.
    pub(crate) fn forget(&mut self, channel: &str) {
        self.last.remove(channel);
    }

    /// Forgets every channel but those `keep` says we still listen to.
    pub(crate) fn retain(&mut self, mut keep: impl FnMut(&String) -> bool) {
        self.last.retain(|channel, _| keep(channel));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_count_per_channel() {
        let mut numbering = Numbering::default();
        assert_eq!(numbering.next("a"), 1);
        assert_eq!(numbering.next("a"), 2);
        assert_eq!(numbering.next("b"), 1);
        assert_eq!(numbering.next("a"), 3);
        assert_eq!(numbering.len(), 2, "an entry per channel, not its name");
    }

    #[test]
    fn senders_per_channel_are_bounded() {
        let mut gaps = Gaps::default();
        for sender in 0..10_000 {
            gaps.record("g", InstanceId::from_u64(sender), 1);
        }
        assert!(gaps.last["g"].len() <= MAX_SENDERS_PER_CHANNEL);
    }

    #[test]
    fn gaps_are_counted_per_sender_and_channel() {
        let (a, b) = (InstanceId::from_u64(1), InstanceId::from_u64(2));
        let mut gaps = Gaps::default();
        assert_eq!(
            gaps.record("g", a, 5),
            0,
            "the first seen sets the baseline"
        );
        assert_eq!(gaps.record("g", a, 6), 0);
        assert_eq!(gaps.record("g", b, 1), 0);
        assert_eq!(gaps.record("g", a, 9), 2);
        assert_eq!(gaps.record("h", a, 1), 0);
        assert_eq!(gaps.record("g", a, 1), 0, "a restart is not a loss");
        assert_eq!(gaps.record("g", a, 2), 0);
        gaps.forget("g");
        assert_eq!(gaps.record("g", a, 10), 0, "not listening meanwhile");
    }
}
