//! Every group's history in one instance's memory (what `LocalGroups`
//! keeps): sharded like the groups, bounded per group by count, age and
//! bytes, and over every group by bytes.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Instant;

use rpc_core::{InstanceId, Position};

use super::Frame;
use super::history::{GroupHistory, HistoryPage, HistoryRules};

/// The history of one group, in memory.
struct Kept {
    epoch: String,
    top: u64,
    /// Offset, when it was broadcast, the frame.
    messages: VecDeque<(u64, Instant, Frame)>,
    bytes: usize,
    last_broadcast: Instant,
}

impl Kept {
    fn new(now: Instant) -> Self {
        Self {
            epoch: InstanceId::random().to_string(),
            top: 0,
            messages: VecDeque::new(),
            bytes: 0,
            last_broadcast: now,
        }
    }

    fn drop_oldest(&mut self, total: &AtomicUsize) -> bool {
        let Some((_, _, frame)) = self.messages.pop_front() else {
            return false;
        };
        self.bytes -= frame.len();
        total.fetch_sub(frame.len(), Ordering::Relaxed);
        true
    }

    fn expire(&mut self, history: &GroupHistory, now: Instant, total: &AtomicUsize) {
        while let Some((_, at, _)) = self.messages.front() {
            if now.duration_since(*at) <= history.max_age {
                break;
            }
            self.drop_oldest(total);
        }
    }
}

/// One shard of histories, by group name.
type Shard = HashMap<Box<str>, Kept>;

/// Every group's history in one instance's memory, in shards like the
/// groups themselves, bounded per group (count, age, bytes) and in all
/// (`max_bytes`).
pub(crate) struct Histories {
    pub(crate) rules: HistoryRules,
    shards: Box<[Mutex<Shard>]>,
    bytes: AtomicUsize,
    max_bytes: usize,
    /// Broadcasts and reads so far, for sweeping now and then.
    operations: AtomicU64,
}

/// Groups a shard holds at most before a read of a group it does not hold
/// stops making an entry for it (broadcasts always do).
const MAX_ASKED_PER_SHARD: usize = 1024;

/// Broadcasts and reads between sweeps of a shard for groups idle past
/// their age (a read of a group never broadcast to makes an entry too).
const SWEEP_EVERY: u64 = 1024;

impl Histories {
    pub(crate) fn new(rules: HistoryRules, max_bytes: usize, shards: usize) -> Self {
        Self {
            rules,
            shards: (0..shards).map(|_| std::sync::Mutex::default()).collect(),
            bytes: AtomicUsize::new(0),
            max_bytes,
            operations: AtomicU64::new(0),
        }
    }

    /// Whether this operation should sweep its shard.
    fn sweep_due(&self) -> bool {
        self.operations.fetch_add(1, Ordering::Relaxed) % SWEEP_EVERY == SWEEP_EVERY - 1
    }

    /// Bytes of messages held, over every group.
    pub(crate) fn bytes(&self) -> usize {
        self.bytes.load(Ordering::Relaxed)
    }

    fn shard(&self, index: usize) -> MutexGuard<'_, Shard> {
        self.shards[index % self.shards.len()]
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Stores `frame` as `group`'s next message and, with the shard still
    /// locked (so that deliveries go out in the order of their offsets),
    /// hands its position to `deliver`.
    pub(crate) fn record<R>(
        &self,
        shard: usize,
        group: &str,
        history: &GroupHistory,
        frame: &Frame,
        deliver: impl FnOnce(&Position) -> R,
    ) -> R {
        let now = Instant::now();
        let mut groups = self.shard(shard);
        let kept = match groups.get_mut(group) {
            Some(kept) if now.duration_since(kept.last_broadcast) <= history.max_age => kept,
            _ => {
                // New, or idle past its age: a new epoch.
                if let Some(old) = groups.remove(group) {
                    self.bytes.fetch_sub(old.bytes, Ordering::Relaxed);
                }
                groups.entry(group.into()).or_insert_with(|| Kept::new(now))
            }
        };
        kept.top += 1;
        kept.last_broadcast = now;
        kept.bytes += frame.len();
        self.bytes.fetch_add(frame.len(), Ordering::Relaxed);
        kept.messages.push_back((kept.top, now, frame.clone()));
        kept.expire(history, now, &self.bytes);
        while kept.messages.len() > history.max_messages
            || kept.bytes > history.max_bytes
            || self.bytes.load(Ordering::Relaxed) > self.max_bytes
        {
            // Past the bound over every group: this group gives up its
            // oldest, down to nothing (its offsets still count).
            if !kept.drop_oldest(&self.bytes) {
                break;
            }
        }
        let position = Position::new(kept.epoch.clone(), kept.top);
        let delivered = deliver(&position);
        if self.sweep_due() {
            self.sweep(&mut groups, now);
        }
        delivered
    }

    /// Forgets the groups of a shard idle past their history's age.
    fn sweep(&self, groups: &mut Shard, now: Instant) {
        groups.retain(|group, kept| {
            let keep = self
                .rules
                .for_group(group)
                .is_some_and(|history| now.duration_since(kept.last_broadcast) <= history.max_age);
            if !keep {
                self.bytes.fetch_sub(kept.bytes, Ordering::Relaxed);
            }
            keep
        });
    }

    /// Up to `limit` messages of `group` after offset `after`; `None` if
    /// the group keeps no history.
    pub(crate) fn read(
        &self,
        shard: usize,
        group: &str,
        after: u64,
        limit: usize,
    ) -> Option<HistoryPage> {
        let history = self.rules.for_group(group)?;
        let now = Instant::now();
        let mut groups = self.shard(shard);
        let fresh = groups
            .get(group)
            .is_some_and(|kept| now.duration_since(kept.last_broadcast) <= history.max_age);
        if !fresh {
            // Never broadcast to, or idle past its age: an empty history,
            // whose epoch the next broadcast keeps.
            if let Some(old) = groups.remove(group) {
                self.bytes.fetch_sub(old.bytes, Ordering::Relaxed);
            }
        }
        if self.sweep_due() {
            self.sweep(&mut groups, now);
        }
        if !groups.contains_key(group) && groups.len() >= MAX_ASKED_PER_SHARD {
            // Asked about more groups than are broadcast to (names made
            // up by clients): an epoch of the moment, kept nowhere.
            return Some(HistoryPage::new(
                InstanceId::random().to_string(),
                0,
                1,
                Vec::new(),
            ));
        }
        let kept = groups.entry(group.into()).or_insert_with(|| Kept::new(now));
        kept.expire(&history, now, &self.bytes);
        let first = kept
            .messages
            .front()
            .map_or(kept.top + 1, |(offset, ..)| *offset);
        let messages = if first <= after + 1 {
            let skip = usize::try_from(after + 1 - first).unwrap_or(usize::MAX);
            kept.messages
                .iter()
                .skip(skip)
                .take(limit)
                .map(|(offset, _, frame)| (*offset, frame.clone()))
                .collect()
        } else {
            Vec::new()
        };
        Some(HistoryPage::new(
            kept.epoch.clone(),
            kept.top,
            first,
            messages,
        ))
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn frame(text: &str) -> Frame {
        Frame::from(text.to_owned())
    }

    fn offsets(page: &HistoryPage) -> Vec<u64> {
        page.messages.iter().map(|(offset, _)| *offset).collect()
    }

    #[test]
    fn memory_history_is_bounded_by_count_bytes_and_the_total() {
        let rules = HistoryRules::new().rule(
            "*",
            GroupHistory::new(3, Duration::from_secs(60)).with_max_bytes(10),
        );
        let histories = Histories::new(rules.clone(), 1 << 20, 4);
        let history = rules.for_group("g").unwrap();
        for n in 1..=5 {
            let position = histories.record(0, "g", &history, &frame("ab"), Clone::clone);
            assert_eq!(position.offset, n);
        }
        let page = histories.read(0, "g", 0, 100).unwrap();
        assert_eq!((page.top, page.first), (5, 3), "by count");
        assert_eq!(offsets(&histories.read(0, "g", 3, 100).unwrap()), [4, 5]);
        assert_eq!(
            offsets(&histories.read(0, "g", 2, 1).unwrap()),
            [3],
            "limited"
        );
        histories.record(0, "g", &history, &frame("0123456789"), |_| ());
        let page = histories.read(0, "g", 5, 100).unwrap();
        assert_eq!(
            (page.first, offsets(&page)),
            (6, vec![6]),
            "by bytes per group"
        );
        assert_eq!(histories.bytes(), 10);

        let total = Histories::new(rules, 8, 4);
        for group in ["a", "b", "c"] {
            total.record(1, group, &history, &frame("abc"), |_| ());
        }
        assert!(total.bytes() <= 8, "by bytes over every group");
        assert!(total.read(1, "x", 0, 10).unwrap().messages.is_empty());
    }

    #[test]
    fn memory_history_forgets_old_messages_and_idle_groups() {
        let history = GroupHistory::new(100, Duration::from_millis(50));
        let histories = Histories::new(HistoryRules::new().rule("*", history), 1 << 20, 1);
        let first = histories.record(0, "g", &history, &frame("1"), Clone::clone);
        std::thread::sleep(Duration::from_millis(30));
        histories.record(0, "g", &history, &frame("2"), |_| ());
        std::thread::sleep(Duration::from_millis(30));
        let page = histories.read(0, "g", 0, 10).unwrap();
        assert_eq!(
            offsets(&page),
            Vec::<u64>::new(),
            "1 is too old: not covered"
        );
        assert!(!page.covers(&Position::new(first.epoch.clone(), 0)));
        assert_eq!(offsets(&histories.read(0, "g", 1, 10).unwrap()), [2]);
        std::thread::sleep(Duration::from_millis(60));
        let page = histories.read(0, "g", 2, 10).unwrap();
        assert_ne!(page.epoch, first.epoch, "idle past its age: a new epoch");
        assert_eq!(page.top, 0);
    }
}
