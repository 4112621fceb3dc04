//! Counting across instances: members of a group, groups of a connection,
//! read from the registry the instances keep in Redis.

use redis::AsyncCommands as _;
use rpc_server::connect::ConnectionId;
use rpc_server::groups::{BackendError, GroupBackend as _, HistoryPage};

use crate::shared::{Shared, lock};
use crate::wire::membership_field;

fn failed(err: impl std::fmt::Display) -> BackendError {
    BackendError(err.to_string())
}

impl Shared {
    fn query_connection(&self) -> Result<redis::aio::MultiplexedConnection, BackendError> {
        lock(&self.commands)
            .clone()
            .ok_or_else(|| BackendError("Redis is unreachable".to_owned()))
    }

    /// Members of `group` over every live instance: this one's from memory,
    /// the others' from their registries.
    pub(crate) async fn member_count(&self, group: &str) -> Result<usize, BackendError> {
        let mut redis = self.query_connection()?;
        let instances: Vec<String> = redis
            .smembers(self.keys.instances())
            .await
            .map_err(failed)?;
        let own = self.instance.to_string();
        let others: Vec<&String> = instances
            .iter()
            .filter(|instance| **instance != own)
            .collect();
        let mut total = self.local.local_len(group);
        if others.is_empty() {
            return Ok(total);
        }
        let mut pipe = redis::pipe();
        for instance in &others {
            pipe.exists(self.keys.alive(instance))
                .hget(self.keys.groups(instance), group);
        }
        let replies: Vec<redis::Value> = pipe.query_async(&mut redis).await.map_err(failed)?;
        let mut dead = Vec::new();
        for (instance, pair) in others.iter().zip(replies.chunks(2)) {
            let alive: bool = redis::from_redis_value(pair[0].clone()).unwrap_or(false);
            if !alive {
                dead.push(instance.as_str());
                continue;
            }
            // Anyone who can write to this Redis can write here: a value
            // that is not a count counts nothing, and no sum overflows.
            let members: Option<usize> = redis::from_redis_value(pair[1].clone()).unwrap_or(None);
            total = total.saturating_add(members.unwrap_or(0));
        }
        if !dead.is_empty() {
            // Gone without cleaning up; their entries have expired.
            let _: Result<(), _> = redis.srem(self.keys.instances(), dead).await;
        }
        Ok(total)
    }

    /// The groups of connection `id`, from memory when it is here, from its
    /// instance's registry otherwise (empty if that instance is gone).
    pub(crate) async fn groups_of(&self, id: ConnectionId) -> Result<Vec<String>, BackendError> {
        if id.instance() == self.instance {
            return Ok(self.local.local_groups(id));
        }
        let mut redis = self.query_connection()?;
        let instance = id.instance().to_string();
        let alive: bool = redis
            .exists(self.keys.alive(&instance))
            .await
            .map_err(failed)?;
        if !alive {
            return Ok(Vec::new());
        }
        // Its memberships are fields `ID GROUP`: scanned for this id (an
        // id holds no character a pattern treats specially).
        let prefix = membership_field(id, "");
        let mut fields: redis::AsyncIter<'_, (String, String)> = redis
            .hscan_match(self.keys.members(&instance), format!("{prefix}*"))
            .await
            .map_err(failed)?;
        let mut groups = Vec::new();
        while let Some(entry) = fields.next_item().await {
            let (field, _) = entry.map_err(failed)?;
            if let Some(group) = field.strip_prefix(&prefix) {
                groups.push(group.to_owned());
            }
        }
        groups.sort_unstable();
        Ok(groups)
    }

    /// Up to `limit` messages of `group`'s history after `after`; `None`
    /// for a group without history.
    pub(crate) async fn read_history(
        &self,
        group: &str,
        after: u64,
        limit: usize,
    ) -> Result<Option<HistoryPage>, BackendError> {
        let Some(history) = self.config.history.for_group(group) else {
            return Ok(None);
        };
        let mut redis = self.query_connection()?;
        let page = self
            .scripts
            .read(&mut redis, &self.keys, group, &history, after, limit)
            .await
            .map_err(BackendError)?;
        Ok(Some(page))
    }
}
