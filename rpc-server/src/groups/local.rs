//! Groups held in this process, in shards: a membership change locks the
//! shard of its connection and the shard of its group, never all of them,
//! and a closing connection visits only the groups it was in.

use std::collections::HashMap;
use std::fmt;
use std::hash::{BuildHasher, Hash, RandomState};
use std::sync::{Mutex, MutexGuard};

use rpc_core::{ConnectionId, InstanceId, Position};

use super::history::tagged;
use super::memory::Histories;
use super::{BackendError, BackendFuture, Frame, GroupBackend, HistoryPage, HistoryRules, Member};

/// Locks per map: enough that thousands of connections opening, joining
/// and closing at once rarely meet on one.
const SHARDS: usize = 64;

/// What the histories of one instance's groups hold at most, together,
/// unless [`LocalGroups::with_history_bytes`] says otherwise.
pub const DEFAULT_HISTORY_BYTES: usize = 64 * 1024 * 1024;

/// Groups and connections of this instance, in memory. The default
/// [`GroupBackend`]; other backends wrap one for their local members.
///
/// Groups keep history in memory as [`with_history`](Self::with_history)
/// says; its epoch is new in each process, so clients of an instance that
/// restarted are told they could not recover.
pub struct LocalGroups {
    instance: InstanceId,
    hasher: RandomState,
    /// Each group's members, sharded by group name.
    groups: Box<[Mutex<Groups>]>,
    /// Each connection and the groups it is in, sharded by id.
    connections: Box<[Mutex<Connections>]>,
    /// What groups with history keep, sharded like `groups`.
    histories: Histories,
}

/// One shard of groups: each group's members by id.
type Groups = HashMap<Box<str>, HashMap<ConnectionId, Member>>;

/// One shard of connections.
type Connections = HashMap<ConnectionId, Connection>;

struct Connection {
    member: Member,
    groups: Vec<Box<str>>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic elsewhere while holding the lock leaves the map usable.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn shards<T: Default>() -> Box<[Mutex<T>]> {
    (0..SHARDS).map(|_| Mutex::default()).collect()
}

impl Default for LocalGroups {
    fn default() -> Self {
        Self::new()
    }
}

impl LocalGroups {
    /// No groups yet, on a fresh random instance id.
    pub fn new() -> Self {
        Self::with_instance(InstanceId::random())
    }

    /// No groups yet, speaking for `instance` (a backend that wraps this
    /// one passes its own).
    pub fn with_instance(instance: InstanceId) -> Self {
        Self {
            instance,
            hasher: RandomState::new(),
            groups: shards(),
            connections: shards(),
            histories: Histories::new(HistoryRules::new(), DEFAULT_HISTORY_BYTES, SHARDS),
        }
    }

    /// The same groups, keeping the history `rules` give (in memory, at
    /// most [`DEFAULT_HISTORY_BYTES`] over every group).
    ///
    /// ```
    /// use std::time::Duration;
    /// use rpc_server::groups::{GroupHistory, HistoryRules, LocalGroups};
    ///
    /// let groups = LocalGroups::new().with_history(
    ///     HistoryRules::new().rule("room:*", GroupHistory::new(1_000, Duration::from_secs(600))),
    /// );
    /// # drop(groups);
    /// ```
    pub fn with_history(mut self, rules: HistoryRules) -> Self {
        self.histories = Histories::new(rules, DEFAULT_HISTORY_BYTES, SHARDS);
        self
    }

    /// The bound on what the histories of every group hold together, in
    /// bytes: past it, the group broadcast to gives up its oldest messages.
    pub fn with_history_bytes(mut self, max_bytes: usize) -> Self {
        self.histories = Histories::new(self.histories.rules.clone(), max_bytes, SHARDS);
        self
    }

    /// Bytes of messages the histories hold now.
    pub fn history_bytes(&self) -> usize {
        self.histories.bytes()
    }

    fn shard_index(&self, group: &str) -> usize {
        self.hasher.hash_one(group) as usize % SHARDS
    }

    fn shard<'a, K: Hash + ?Sized, T>(&self, shards: &'a [Mutex<T>], key: &K) -> MutexGuard<'a, T> {
        let index = self.hasher.hash_one(key) as usize % shards.len();
        lock(&shards[index])
    }

    /// Delivers `frame`, at `position` in `group`'s history, to the
    /// group's members here: the position goes with it to group streams.
    /// For a backend that wraps this one and keeps history elsewhere.
    pub fn broadcast_at(&self, group: &str, frame: &Frame, position: &Position) -> usize {
        let groups = self.group_shard(group);
        let Some(members) = groups.get(group) else {
            return 0;
        };
        // Tagged once, for every follower.
        let mut with_position = None;
        members
            .values()
            .filter(|member| {
                if member.follows() {
                    let tagged = with_position.get_or_insert_with(|| tagged(frame, position));
                    member.deliver(tagged)
                } else {
                    member.deliver(frame)
                }
            })
            .count()
    }

    fn deliver(&self, group: &str, frame: &Frame) -> usize {
        let groups = self.group_shard(group);
        let Some(members) = groups.get(group) else {
            return 0;
        };
        members
            .values()
            .filter(|member| member.deliver(frame))
            .count()
    }

    fn group_shard(
        &self,
        group: &str,
    ) -> MutexGuard<'_, HashMap<Box<str>, HashMap<ConnectionId, Member>>> {
        self.shard(&self.groups, group)
    }

    fn connection_shard(
        &self,
        id: ConnectionId,
    ) -> MutexGuard<'_, HashMap<ConnectionId, Connection>> {
        self.shard(&self.connections, &id)
    }

    fn remove_member(&self, group: &str, id: ConnectionId) {
        let mut groups = self.group_shard(group);
        if let Some(members) = groups.get_mut(group) {
            members.remove(&id);
            if members.is_empty() {
                groups.remove(group);
            }
        }
    }

    /// How many connections are registered here.
    pub fn connections(&self) -> usize {
        self.connections.iter().map(|shard| lock(shard).len()).sum()
    }
}

impl GroupBackend for LocalGroups {
    fn instance(&self) -> InstanceId {
        self.instance
    }

    fn connected(&self, member: &Member) {
        self.connection_shard(member.id()).insert(
            member.id(),
            Connection {
                member: member.clone(),
                groups: Vec::new(),
            },
        );
    }

    fn disconnected(&self, id: ConnectionId) {
        let Some(connection) = self.connection_shard(id).remove(&id) else {
            return;
        };
        for group in &connection.groups {
            self.remove_member(group, id);
        }
    }

    fn join(&self, group: &str, id: ConnectionId) {
        // Lock order: the connection's shard, then the group's. Holding the
        // first keeps a concurrent close from missing this group.
        let mut connections = self.connection_shard(id);
        let Some(connection) = connections.get_mut(&id) else {
            return;
        };
        if connection.groups.iter().any(|joined| &**joined == group) {
            return;
        }
        connection.groups.push(group.into());
        self.group_shard(group)
            .entry(group.into())
            .or_default()
            .insert(id, connection.member.clone());
    }

    fn leave(&self, group: &str, id: ConnectionId) {
        let mut connections = self.connection_shard(id);
        let Some(connection) = connections.get_mut(&id) else {
            return;
        };
        let Some(at) = connection
            .groups
            .iter()
            .position(|joined| &**joined == group)
        else {
            return;
        };
        connection.groups.swap_remove(at);
        self.remove_member(group, id);
    }

    fn broadcast(&self, group: &str, frame: &Frame) -> usize {
        if self.histories.rules.is_empty() {
            return self.deliver(group, frame);
        }
        match self.histories.rules.for_group(group) {
            Some(history) => {
                let shard = self.shard_index(group);
                self.histories
                    .record(shard, group, &history, frame, |position| {
                        self.broadcast_at(group, frame, position)
                    })
            }
            None => self.deliver(group, frame),
        }
    }

    fn notify_connection(&self, id: ConnectionId, frame: &Frame) -> bool {
        let member = match self.connection_shard(id).get(&id) {
            Some(connection) => connection.member.clone(),
            None => return false,
        };
        member.deliver(frame)
    }

    fn local_len(&self, group: &str) -> usize {
        self.group_shard(group).get(group).map_or(0, HashMap::len)
    }

    fn read_history<'a>(
        &'a self,
        group: &'a str,
        after: u64,
        limit: usize,
    ) -> BackendFuture<'a, Result<Option<HistoryPage>, BackendError>> {
        let page = self
            .histories
            .read(self.shard_index(group), group, after, limit);
        Box::pin(async move { Ok(page) })
    }

    fn local_membership(&self, id: ConnectionId, group: &str) -> (usize, bool) {
        self.connection_shard(id)
            .get(&id)
            .map_or((0, false), |connection| {
                let member = connection.groups.iter().any(|joined| &**joined == group);
                (connection.groups.len(), member)
            })
    }

    fn local_groups(&self, id: ConnectionId) -> Vec<String> {
        let mut groups: Vec<String> = self
            .connection_shard(id)
            .get(&id)
            .map(|connection| {
                connection
                    .groups
                    .iter()
                    .map(|group| group.to_string())
                    .collect()
            })
            .unwrap_or_default();
        groups.sort_unstable();
        groups
    }
}

impl fmt::Debug for LocalGroups {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let groups: usize = self.groups.iter().map(|shard| lock(shard).len()).sum();
        f.debug_struct("LocalGroups")
            .field("instance", &self.instance)
            .field("groups", &groups)
            .field("connections", &self.connections())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::groups::SlowMemberPolicy;
    use crate::outgoing::{self, OutgoingBudget, Queue};

    fn member(groups: &LocalGroups, budget: usize) -> (Member, Queue) {
        let account = OutgoingBudget::new(usize::MAX).account();
        let (outgoing, queue) = outgoing::channel(budget, account);
        let id = ConnectionId::next(groups.instance());
        let member = Member::new(id, outgoing, SlowMemberPolicy::DropMessage);
        groups.connected(&member);
        (member, queue)
    }

    fn frame(text: &str) -> Frame {
        Frame::from(text.to_owned())
    }

    #[test]
    fn members_get_each_broadcast_once_and_leave_on_close() {
        let groups = LocalGroups::new();
        let (a, mut queue_a) = member(&groups, 1024);
        let (b, mut queue_b) = member(&groups, 1024);
        groups.join("room", a.id());
        groups.join("room", a.id());
        groups.join("room", b.id());
        groups.join("other", b.id());
        assert_eq!(groups.local_len("room"), 2);
        assert_eq!(groups.local_groups(b.id()), ["other", "room"]);
        assert_eq!(groups.broadcast("room", &frame("1")), 2);
        assert_eq!(queue_a.try_recv().as_deref(), Some("1"));
        assert_eq!(queue_a.try_recv(), None);
        assert_eq!(queue_b.try_recv().as_deref(), Some("1"));

        groups.disconnected(b.id());
        assert_eq!(groups.local_len("room"), 1);
        assert_eq!(groups.local_len("other"), 0);
        assert!(groups.local_groups(b.id()).is_empty());
        groups.join("room", b.id());
        assert_eq!(
            groups.local_len("room"),
            1,
            "a closed connection cannot join"
        );

        groups.leave("room", a.id());
        assert_eq!(groups.broadcast("room", &frame("2")), 0);
        assert!(format!("{groups:?}").contains("groups: 0"));
    }

    #[test]
    fn one_connection_is_reached_by_its_id() {
        let groups = LocalGroups::new();
        let (a, mut queue) = member(&groups, 1024);
        assert!(groups.notify_connection(a.id(), &frame("hi")));
        assert_eq!(queue.try_recv().as_deref(), Some("hi"));
        groups.disconnected(a.id());
        assert!(!groups.notify_connection(a.id(), &frame("gone")));
        assert_eq!(groups.connections(), 0);
    }

    #[test]
    fn a_member_over_its_byte_budget_misses_messages_others_get() {
        let groups = LocalGroups::new();
        let (slow, mut slow_queue) = member(&groups, 4);
        let (fast, mut fast_queue) = member(&groups, 1024);
        groups.join("room", slow.id());
        groups.join("room", fast.id());
        assert_eq!(groups.broadcast("room", &frame("abc")), 2);
        assert_eq!(groups.broadcast("room", &frame("def")), 1);
        assert_eq!(fast_queue.try_recv().as_deref(), Some("abc"));
        assert_eq!(fast_queue.try_recv().as_deref(), Some("def"));
        assert_eq!(slow_queue.try_recv().as_deref(), Some("abc"));
        assert_eq!(slow_queue.try_recv(), None);
    }
}
