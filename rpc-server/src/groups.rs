//! Named groups of connections, for broadcasts (`notify_group`).

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};

use tokio::sync::Notify;
use tokio_tungstenite::tungstenite::Utf8Bytes;

use crate::outgoing::{Outgoing, TrySendError};

/// What happens to a group member whose outgoing queue is full when a
/// broadcast arrives (it reads too slowly). Either way the other members
/// are not held up.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum SlowMemberPolicy {
    /// Close that member's connection ([`DisconnectReason::TooSlow`](rpc_core::DisconnectReason::TooSlow)):
    /// no message is silently lost, and a reconnecting client can resync.
    #[default]
    Disconnect,
    /// Skip the message for that member only.
    DropMessage,
}

/// One connection, as a group sees it: where to deliver, and how to tell it
/// to go away.
#[derive(Clone)]
pub struct Member {
    connection_id: u64,
    outgoing: Outgoing,
    kick: Arc<Notify>,
}

impl Member {
    pub(crate) fn new(connection_id: u64, outgoing: Outgoing, kick: Arc<Notify>) -> Self {
        Self {
            connection_id,
            outgoing,
            kick,
        }
    }

    /// The member's connection id.
    pub fn connection_id(&self) -> u64 {
        self.connection_id
    }

    /// Queues `frame` for the member without waiting; whether it was.
    pub fn deliver(&self, frame: &Utf8Bytes, policy: SlowMemberPolicy) -> bool {
        match self.outgoing.try_send(frame.clone()) {
            Ok(()) => true,
            Err(TrySendError::Full) => {
                if policy == SlowMemberPolicy::Disconnect {
                    self.kick.notify_one();
                }
                false
            }
            Err(TrySendError::Closed) => false,
        }
    }
}

impl fmt::Debug for Member {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Member")
            .field("connection_id", &self.connection_id)
            .finish_non_exhaustive()
    }
}

/// Where group membership lives. The in-process [`LocalGroups`] is the
/// default; an implementation over a shared broker would let several server
/// instances broadcast to each other's connections.
pub trait GroupBackend: Send + Sync + 'static {
    /// Adds a member to a group (again is harmless).
    fn join(&self, group: &str, member: Member);
    /// Removes a connection from a group.
    fn leave(&self, group: &str, connection_id: u64);
    /// Removes a connection from every group it is in.
    fn leave_all(&self, connection_id: u64);
    /// Delivers `frame` once to each current member; returns how many it
    /// was queued for.
    fn broadcast(&self, group: &str, frame: &Utf8Bytes) -> usize;
    /// How many members a group has.
    fn len(&self, group: &str) -> usize;
}

/// Groups held in this process.
#[derive(Default)]
pub struct LocalGroups {
    groups: Mutex<HashMap<String, HashMap<u64, Member>>>,
    policy: SlowMemberPolicy,
}

impl LocalGroups {
    /// Empty groups with a policy for slow members.
    pub fn new(policy: SlowMemberPolicy) -> Self {
        Self {
            groups: Mutex::default(),
            policy,
        }
    }

    fn groups(&self) -> std::sync::MutexGuard<'_, HashMap<String, HashMap<u64, Member>>> {
        // A panic elsewhere while holding the lock leaves the map usable.
        self.groups
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl GroupBackend for LocalGroups {
    fn join(&self, group: &str, member: Member) {
        self.groups()
            .entry(group.to_owned())
            .or_default()
            .insert(member.connection_id, member);
    }

    fn leave(&self, group: &str, connection_id: u64) {
        let mut groups = self.groups();
        if let Some(members) = groups.get_mut(group) {
            members.remove(&connection_id);
            if members.is_empty() {
                groups.remove(group);
            }
        }
    }

    fn leave_all(&self, connection_id: u64) {
        self.groups().retain(|_, members| {
            members.remove(&connection_id);
            !members.is_empty()
        });
    }

    fn broadcast(&self, group: &str, frame: &Utf8Bytes) -> usize {
        let groups = self.groups();
        let Some(members) = groups.get(group) else {
            return 0;
        };
        members
            .values()
            .filter(|member| member.deliver(frame, self.policy))
            .count()
    }

    fn len(&self, group: &str) -> usize {
        self.groups().get(group).map_or(0, HashMap::len)
    }
}

impl fmt::Debug for LocalGroups {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalGroups")
            .field("groups", &self.groups().len())
            .field("policy", &self.policy)
            .finish()
    }
}
