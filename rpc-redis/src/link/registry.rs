//! The membership registry this instance keeps in Redis, for counts
//! across instances: per group, its members here; per membership, a field
//! of its own, so that a join or a leave writes one field, whatever else
//! the connection is in.

use std::collections::{HashMap, HashSet};

use rpc_server::connect::ConnectionId;
use rpc_server::groups::GroupBackend as _;

use crate::shared::Shared;
use crate::wire::{Keys, membership_field};

/// Fields written by one `HSET` at most.
const FIELDS_PER_COMMAND: usize = 1_000;

/// What this instance has registered in Redis.
#[derive(Default)]
pub(super) struct Registry {
    /// Groups with members here, and how many: what is subscribed and
    /// registered (again after a reconnect).
    pub(super) groups: HashMap<String, usize>,
    /// Memberships of connections here.
    memberships: HashSet<(ConnectionId, String)>,
}

/// What a batch of membership changes asks of Redis.
#[derive(Default)]
pub(super) struct Changes {
    /// Groups that got their first member here.
    pub(super) subscribe: Vec<String>,
    /// Groups that lost their last.
    pub(super) unsubscribe: Vec<String>,
    /// Members here per group, or `None` to remove the group.
    counts: Vec<(String, Option<usize>)>,
    /// Memberships to add (`true`) or remove.
    memberships: Vec<(String, bool)>,
}

impl Changes {
    pub(super) fn is_empty(&self) -> bool {
        self.counts.is_empty() && self.memberships.is_empty()
    }
}

impl Registry {
    /// Takes `dirty` (group and connection pairs whose membership may have
    /// changed) into the registry; returns what to write.
    pub(super) fn apply(&mut self, shared: &Shared, dirty: Vec<(String, ConnectionId)>) -> Changes {
        let mut changes = Changes::default();
        let mut groups = HashSet::new();
        for (group, id) in dirty {
            let (_, member) = shared.local.local_membership(id, &group);
            let key = (id, group);
            let field = || membership_field(key.0, &key.1);
            if member && !self.memberships.contains(&key) {
                changes.memberships.push((field(), true));
                self.memberships.insert(key.clone());
            } else if !member && self.memberships.remove(&key) {
                changes.memberships.push((field(), false));
            }
            groups.insert(key.1);
        }
        for group in groups {
            let members = shared.local.local_len(&group);
            let known = self.groups.get(&group).copied();
            if members > 0 {
                if known.is_none() {
                    changes.subscribe.push(group.clone());
                }
                if known != Some(members) {
                    self.groups.insert(group.clone(), members);
                    changes.counts.push((group, Some(members)));
                }
            } else if known.is_some() {
                self.groups.remove(&group);
                changes.unsubscribe.push(group.clone());
                changes.counts.push((group, None));
            }
        }
        changes
    }

    /// Adds `changes` to `pipe`.
    pub(super) fn write(
        pipe: &mut redis::Pipeline,
        keys: &Keys,
        instance: &str,
        changes: &Changes,
    ) {
        let (groups_key, members_key) = (keys.groups(instance), keys.members(instance));
        for (group, members) in &changes.counts {
            match members {
                Some(members) => pipe.hset(&groups_key, group, members).ignore(),
                None => pipe.hdel(&groups_key, group).ignore(),
            };
        }
        for (field, joined) in &changes.memberships {
            if *joined {
                pipe.hset(&members_key, field, 1).ignore();
            } else {
                pipe.hdel(&members_key, field).ignore();
            }
        }
    }

    /// Adds to `pipe` the whole registry, written anew (after a connect:
    /// Redis may have restarted empty, or expired it during the outage).
    pub(super) fn write_all(&self, pipe: &mut redis::Pipeline, keys: &Keys, instance: &str) {
        let (groups_key, members_key) = (keys.groups(instance), keys.members(instance));
        pipe.del(&groups_key).ignore().del(&members_key).ignore();
        let groups: Vec<(&String, &usize)> = self.groups.iter().collect();
        for chunk in groups.chunks(FIELDS_PER_COMMAND) {
            pipe.hset_multiple(&groups_key, chunk).ignore();
        }
        let memberships: Vec<(String, u8)> = self
            .memberships
            .iter()
            .map(|(id, group)| (membership_field(*id, group), 1))
            .collect();
        for chunk in memberships.chunks(FIELDS_PER_COMMAND) {
            pipe.hset_multiple(&members_key, chunk).ignore();
        }
    }
}

/// Adds to `pipe` what says this instance is alive and keeps its entries
/// from expiring.
pub(super) fn expire(pipe: &mut redis::Pipeline, shared: &Shared) {
    let instance = shared.instance.to_string();
    let keys = &shared.keys;
    let expiry = i64::try_from(shared.config.expiry.as_millis()).unwrap_or(i64::MAX);
    pipe.cmd("SET")
        .arg(keys.alive(&instance))
        .arg(1)
        .arg("PX")
        .arg(expiry)
        .ignore();
    pipe.pexpire(keys.groups(&instance), expiry).ignore();
    pipe.pexpire(keys.members(&instance), expiry).ignore();
    pipe.sadd(keys.instances(), &instance).ignore();
}

/// Adds to `pipe` the removal of this instance's entries (a clean stop: its
/// members leave the counts at once instead of at expiry).
pub(super) fn unregister(pipe: &mut redis::Pipeline, shared: &Shared) {
    let instance = shared.instance.to_string();
    let keys = &shared.keys;
    pipe.del(keys.alive(&instance))
        .ignore()
        .del(keys.groups(&instance))
        .ignore()
        .del(keys.members(&instance))
        .ignore()
        .srem(keys.instances(), &instance)
        .ignore();
}
