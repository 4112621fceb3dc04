//! Group history: which groups keep what was broadcast to them, how much,
//! what a read of it returns, and how a follower tells a new message from
//! one it already has or a gap. [`LocalGroups`](super::LocalGroups) keeps
//! it in memory ([`Histories`]); `rpc-redis` keeps it in Redis streams.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use rpc_core::{InstanceId, Position};

use super::Frame;

/// How much of a group's history is kept: at most `max_messages`
/// messages, none older than `max_age`, at most `max_bytes` of them (in
/// memory; Redis bounds streams by count and age). A group idle for
/// longer than `max_age` loses its position counter with its messages: a
/// client that comes back later is told it could not recover.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct GroupHistory {
    /// Messages kept at most.
    pub max_messages: usize,
    /// How long a message is kept.
    pub max_age: Duration,
    /// Bytes of messages kept at most, per group (in memory).
    pub max_bytes: usize,
}

impl GroupHistory {
    /// Keeps up to `max_messages` for up to `max_age`, and 16 MiB per
    /// group at most.
    pub const fn new(max_messages: usize, max_age: Duration) -> Self {
        Self {
            max_messages,
            max_age,
            max_bytes: 16 * 1024 * 1024,
        }
    }

    /// The same, with another byte bound per group.
    pub const fn with_max_bytes(mut self, max_bytes: usize) -> Self {
        self.max_bytes = max_bytes;
        self
    }
}

/// Which groups keep history: rules by group name, the first that matches
/// wins. A pattern is a group's exact name, or a prefix followed by `*`
/// (`"room:*"`; `"*"` for every group).
///
/// ```
/// use std::time::Duration;
/// use rpc_server::groups::{GroupHistory, HistoryRules};
///
/// let rules = HistoryRules::new()
///     .rule("room:*", GroupHistory::new(1_000, Duration::from_secs(600)));
/// assert!(rules.for_group("room:lobby").is_some());
/// assert!(rules.for_group("presence").is_none());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HistoryRules {
    rules: Vec<(Box<str>, GroupHistory)>,
}

impl HistoryRules {
    /// No group keeps history.
    pub fn new() -> Self {
        Self::default()
    }

    /// Groups matching `pattern` keep `history` (unless an earlier rule
    /// matched them).
    pub fn rule(mut self, pattern: &str, history: GroupHistory) -> Self {
        self.rules.push((pattern.into(), history));
        self
    }

    /// The history `group` keeps, if any.
    pub fn for_group(&self, group: &str) -> Option<GroupHistory> {
        self.rules.iter().find_map(|(pattern, history)| {
            let matches = match pattern.strip_suffix('*') {
                Some(prefix) => group.starts_with(prefix),
                None => **pattern == *group,
            };
            matches.then_some(*history)
        })
    }

    /// Whether no group keeps history.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }
}

/// What a read of a group's history found
/// ([`GroupBackend::read_history`](super::GroupBackend::read_history)).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct HistoryPage {
    /// The history's epoch.
    pub epoch: String,
    /// The offset of its latest message (0 before the first).
    pub top: u64,
    /// The offset of the oldest message it still holds (`top + 1` when it
    /// holds none).
    pub first: u64,
    /// Messages after the offset asked for, oldest first, each with its
    /// offset; at most the limit asked for, so more may follow.
    pub messages: Vec<(u64, Frame)>,
}

impl HistoryPage {
    /// A page.
    pub fn new(epoch: String, top: u64, first: u64, messages: Vec<(u64, Frame)>) -> Self {
        Self {
            epoch,
            top,
            first,
            messages,
        }
    }

    /// Whether the history still holds every message after `since`: the
    /// same epoch, no later than its top, and nothing between `since` and
    /// its oldest message lost.
    pub fn covers(&self, since: &Position) -> bool {
        self.epoch == since.epoch
            && since.offset <= self.top
            && self.first <= since.offset.saturating_add(1)
    }

    /// The position of its latest message.
    pub fn top_position(&self) -> Position {
        Position::new(self.epoch.clone(), self.top)
    }
}

/// What a follower of a group should do with a message at a position,
/// given the last one it delivered ([`Cursor::step`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// The next one: deliver it.
    Next,
    /// Delivered already (history and live overlap): skip it.
    Duplicate,
    /// Some before it are missing: read them from the history first.
    Gap,
    /// Another epoch: the history was lost; deliver it and start over.
    NewEpoch,
}

/// The last position a follower of one group delivered.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cursor {
    last: Option<Position>,
}

impl Cursor {
    /// A cursor at `last` (nothing delivered yet: `None`).
    pub fn at(last: Option<Position>) -> Self {
        Self { last }
    }

    /// The last position delivered.
    pub fn last(&self) -> Option<&Position> {
        self.last.as_ref()
    }

    /// What to do with a message at `position`.
    pub fn step(&self, position: &Position) -> Step {
        match &self.last {
            None => Step::Next,
            Some(last) if last.epoch != position.epoch => Step::NewEpoch,
            Some(last) if position.offset <= last.offset => Step::Duplicate,
            Some(last) if position.offset == last.offset + 1 => Step::Next,
            Some(_) => Step::Gap,
        }
    }

    /// Records `position` as delivered.
    pub fn advance(&mut self, position: Position) {
        self.last = Some(position);
    }
}

/// The text a follower (a group stream) receives for a message at a
/// position: `OFFSET EPOCH\n` and the frame. A frame without a position
/// is sent as it is (it starts with `{`).
pub(crate) fn tagged(frame: &Frame, position: &Position) -> Frame {
    let mut text = format!("{} {}\n", position.offset, position.epoch);
    text.push_str(frame.as_str());
    Frame::from(text)
}

/// Reads what [`tagged`] wrote: the position, and the frame.
pub(crate) fn untag(text: &str) -> (Option<Position>, &str) {
    if !text.starts_with(|c: char| c.is_ascii_digit()) {
        return (None, text);
    }
    let Some((header, frame)) = text.split_once('\n') else {
        return (None, text);
    };
    let Some((offset, epoch)) = header.split_once(' ') else {
        return (None, text);
    };
    match offset.parse() {
        Ok(offset) => (Some(Position::new(epoch, offset)), frame),
        Err(_) => (None, text),
    }
}

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
    operations: std::sync::atomic::AtomicU64,
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
            operations: std::sync::atomic::AtomicU64::new(0),
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
    use super::*;

    fn frame(text: &str) -> Frame {
        Frame::from(text.to_owned())
    }

    #[test]
    fn rules_match_names_and_prefixes_first_wins() {
        let short = GroupHistory::new(10, Duration::from_secs(1));
        let long = GroupHistory::new(1000, Duration::from_secs(60));
        let rules = HistoryRules::new()
            .rule("room:vip", short)
            .rule("room:*", long);
        assert_eq!(rules.for_group("room:vip"), Some(short));
        assert_eq!(rules.for_group("room:a"), Some(long));
        assert_eq!(rules.for_group("roo"), None);
        assert_eq!(
            HistoryRules::new().rule("*", short).for_group("x"),
            Some(short)
        );
    }

    #[test]
    fn a_cursor_tells_next_duplicate_gap_and_new_epoch() {
        let mut cursor = Cursor::default();
        assert_eq!(cursor.step(&Position::new("a", 7)), Step::Next);
        cursor.advance(Position::new("a", 7));
        assert_eq!(cursor.step(&Position::new("a", 8)), Step::Next);
        assert_eq!(cursor.step(&Position::new("a", 7)), Step::Duplicate);
        assert_eq!(cursor.step(&Position::new("a", 3)), Step::Duplicate);
        assert_eq!(cursor.step(&Position::new("a", 10)), Step::Gap);
        assert_eq!(cursor.step(&Position::new("b", 1)), Step::NewEpoch);
    }

    #[test]
    fn tags_round_trip_and_plain_frames_pass() {
        let position = Position::new("00ff", 12);
        let text = tagged(&frame(r#"{"a":"1\n2"}"#), &position);
        assert_eq!(untag(text.as_str()), (Some(position), r#"{"a":"1\n2"}"#));
        assert_eq!(untag(r#"{"x":1}"#), (None, r#"{"x":1}"#));
        assert_eq!(untag("12x"), (None, "12x"));
    }

    #[test]
    fn a_page_covers_what_it_still_holds() {
        let page = HistoryPage::new("e".into(), 10, 5, Vec::new());
        assert!(page.covers(&Position::new("e", 4)));
        assert!(page.covers(&Position::new("e", 10)));
        assert!(!page.covers(&Position::new("e", 3)), "5 is the oldest held");
        assert!(!page.covers(&Position::new("e", 11)), "past the top");
        assert!(!page.covers(&Position::new("f", 9)), "another epoch");
        let empty = HistoryPage::new("e".into(), 10, 11, Vec::new());
        assert!(empty.covers(&Position::new("e", 10)), "nothing was missed");
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
