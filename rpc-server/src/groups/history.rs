//! Group history: which groups keep what was broadcast to them, how much,
//! what a read of it returns, and how a follower tells a new message from
//! one it already has or a gap. [`LocalGroups`](super::LocalGroups) keeps
//! it in memory (`memory.rs`); `rpc-redis` keeps it in Redis streams.

use std::time::Duration;

use rpc_core::Position;

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
}
