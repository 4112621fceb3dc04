//! Group history in Redis: a stream per group holding its messages, and a
//! hash holding its epoch and the last offset given, both written by one
//! Lua script that also publishes the message, so that a message's
//! position exists (and is stored) before anyone hears it, and the order
//! of offsets is the order in which subscribers hear them.
//!
//! | key | type | holds |
//! |---|---|---|
//! | `P:h:{GROUP}` | stream | entry `OFFSET-MS` (its offset, then when it was stored), field `f`: the frame |
//! | `P:h:{GROUP}:pos` | hash | `epoch`, `offset` (the last given), `from:INSTANCE` (the number of the last message each instance stored) |
//!
//! Both expire when the group has been idle for the history's `max_age`;
//! a group whose position hash is gone starts a new epoch (and its stream
//! over). The stream is trimmed to about `max_messages` (`MAXLEN ~`) and,
//! every 64th message, of up to 64 entries older than `max_age` (so the
//! stale entries go faster than new ones come); readers skip those too.

use redis::Script;
use rpc_server::groups::{Frame, GroupHistory, HistoryPage, InstanceId};

/// Stores and publishes a run of messages to one group, in order: each
/// becomes the group's next message (in the stream KEYS[1]; its epoch and
/// last offset in the hash KEYS[2]) and is published on channel ARGV[1]
/// in the envelope ARGV[2] with its position. ARGV[3] and ARGV[4] are the
/// history's count and age (ms), ARGV[5] the epoch to start if the group
/// has none, ARGV[6] the sending instance; then a number and a frame per
/// message. An instance's numbers only grow: a message sent again (its
/// first sending's answer was lost with the connection) is not stored
/// twice. One call for a run keeps the script's own cost (about 12 µs) off
/// each message. Returns the last offset given.
const PUBLISH: &str = r"
local epoch = redis.call('HGET', KEYS[2], 'epoch')
if not epoch then
  epoch = ARGV[5]
  redis.call('DEL', KEYS[1])
  redis.call('HSET', KEYS[2], 'epoch', epoch, 'offset', 0)
end
local sender = 'from:' .. ARGV[6]
local sent = tonumber(redis.call('HGET', KEYS[2], sender) or '0')
local offset = tonumber(redis.call('HGET', KEYS[2], 'offset') or '0')
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local stamp = '-' .. string.format('%d', now)
for i = 7, #ARGV - 1, 2 do
  local number = tonumber(ARGV[i])
  if number > sent then
    sent = number
    offset = offset + 1
    local at = string.format('%d', offset)
    redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[3], at .. stamp, 'f', ARGV[i + 1])
    redis.call('PUBLISH', ARGV[1], ARGV[2] .. ' ' .. epoch .. ' ' .. at .. '\n' .. ARGV[i + 1])
    if offset % 64 == 0 then
      local cutoff = now - tonumber(ARGV[4])
      for _ = 1, 64 do
        local head = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', 1)[1]
        if not head then break end
        local o, t = string.match(head[1], '^(%d+)-(%d+)$')
        if tonumber(t) >= cutoff then break end
        redis.call('XTRIM', KEYS[1], 'MINID', string.format('%d', tonumber(o) + 1))
      end
    end
  end
end
redis.call('HSET', KEYS[2], 'offset', offset, sender, sent)
redis.call('PEXPIRE', KEYS[1], ARGV[4])
redis.call('PEXPIRE', KEYS[2], ARGV[4])
return offset
";

/// Reads up to ARGV[2] messages after offset ARGV[1] of the group whose
/// stream and position are KEYS[1] and KEYS[2], skipping those older than
/// ARGV[3] ms; ARGV[4] is the epoch to start if the group has none.
/// Returns `{epoch, top, first, offset, frame, offset, frame, …}`, where
/// `first` is the oldest offset still held after the one asked for (top +
/// 1 if none), and the messages only when nothing between is lost.
const READ: &str = r"
local epoch = redis.call('HGET', KEYS[2], 'epoch')
if not epoch then
  epoch = ARGV[4]
  redis.call('DEL', KEYS[1])
  redis.call('HSET', KEYS[2], 'epoch', epoch, 'offset', 0)
  redis.call('PEXPIRE', KEYS[2], ARGV[3])
  return {epoch, 0, 1}
end
local top = tonumber(redis.call('HGET', KEYS[2], 'offset'))
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local cutoff = now - tonumber(ARGV[3])
local after = tonumber(ARGV[1])
local reply = {epoch, top, top + 1}
if after >= top then
  return reply
end
local entries = redis.call('XRANGE', KEYS[1], string.format('%d', after + 1), '+',
  'COUNT', ARGV[2])
local fresh = false
for _, entry in ipairs(entries) do
  local o, t = string.match(entry[1], '^(%d+)-(%d+)$')
  -- Only the stale entries at the front are skipped: a clock that went
  -- back must not make holes in a page.
  if fresh or tonumber(t) >= cutoff then
    if not fresh then
      fresh = true
      reply[3] = tonumber(o)
      if reply[3] > after + 1 then
        return reply
      end
    end
    reply[#reply + 1] = tonumber(o)
    reply[#reply + 1] = entry[2][2]
  end
end
return reply
";

/// A run of messages to one group, to store and publish in one call.
pub(crate) struct Run<'a> {
    pub(crate) group: &'a str,
    pub(crate) channel: &'a str,
    pub(crate) history: &'a GroupHistory,
    /// The sending instance.
    pub(crate) origin: InstanceId,
    /// Its number for each message, and the message.
    pub(crate) messages: Vec<(u64, &'a Frame)>,
}

/// The two scripts, compiled once per backend (their hashes).
pub(crate) struct Scripts {
    pub(crate) publish: Script,
    pub(crate) read: Script,
}

impl Scripts {
    pub(crate) fn new() -> Self {
        Self {
            publish: Script::new(PUBLISH),
            read: Script::new(READ),
        }
    }

    /// Loads both into Redis, so that a pipeline can call them by hash.
    pub(crate) async fn load(
        &self,
        connection: &mut redis::aio::MultiplexedConnection,
    ) -> redis::RedisResult<()> {
        self.publish.load_async(connection).await?;
        self.read.load_async(connection).await?;
        Ok(())
    }

    /// Adds to `pipe` the storing and publishing of `run`, in the
    /// envelope `head`.
    pub(crate) fn publish_in(
        &self,
        pipe: &mut redis::Pipeline,
        keys: &crate::wire::Keys,
        head: &str,
        run: &Run<'_>,
    ) {
        let command = pipe
            .cmd("EVALSHA")
            .arg(self.publish.get_hash())
            .arg(2)
            .arg(keys.history(run.group))
            .arg(keys.history_position(run.group))
            .arg(run.channel)
            .arg(head)
            .arg(run.history.max_messages.max(1))
            .arg(age_ms(run.history))
            .arg(fresh_epoch())
            .arg(run.origin.to_string());
        for (number, frame) in &run.messages {
            command.arg(*number).arg(frame.as_str());
        }
        command.ignore();
    }

    /// Where `group`'s history stands (its epoch and latest offset; an
    /// epoch is started if it has none), without reading messages.
    pub(crate) async fn position(
        &self,
        connection: &mut redis::aio::MultiplexedConnection,
        keys: &crate::wire::Keys,
        group: &str,
        history: &GroupHistory,
    ) -> Result<rpc_server::groups::Position, String> {
        let page = self
            .read(connection, keys, group, history, u64::MAX, 1)
            .await?;
        Ok(page.top_position())
    }

    /// Up to `limit` messages of `group`'s history after offset `after`.
    pub(crate) async fn read(
        &self,
        connection: &mut redis::aio::MultiplexedConnection,
        keys: &crate::wire::Keys,
        group: &str,
        history: &GroupHistory,
        after: u64,
        limit: usize,
    ) -> Result<HistoryPage, String> {
        let reply: Vec<redis::Value> = self
            .read
            .key(keys.history(group))
            .key(keys.history_position(group))
            .arg(after)
            .arg(limit.max(1))
            .arg(age_ms(history))
            .arg(fresh_epoch())
            .invoke_async(connection)
            .await
            .map_err(|err| err.to_string())?;
        page(reply).ok_or_else(|| format!("an unexpected history reply for {group:?}"))
    }
}

/// The longest age a history keeps in Redis: ten years, well inside what
/// `PEXPIRE` accepts.
const MAX_AGE_MS: u64 = 10 * 365 * 24 * 3600 * 1000;

/// A history's age in milliseconds, between one and [`MAX_AGE_MS`].
fn age_ms(history: &GroupHistory) -> u64 {
    u64::try_from(history.max_age.as_millis())
        .unwrap_or(u64::MAX)
        .clamp(1, MAX_AGE_MS)
}

/// An epoch for a history that starts now: 64 random bits, in hex.
fn fresh_epoch() -> String {
    InstanceId::random().to_string()
}

/// Reads the read script's reply.
fn page(reply: Vec<redis::Value>) -> Option<HistoryPage> {
    let mut values = reply.into_iter();
    let epoch: String = redis::from_redis_value(values.next()?).ok()?;
    let top: u64 = redis::from_redis_value(values.next()?).ok()?;
    let first: u64 = redis::from_redis_value(values.next()?).ok()?;
    let mut messages = Vec::new();
    while let Some(offset) = values.next() {
        let offset: u64 = redis::from_redis_value(offset).ok()?;
        let frame: String = redis::from_redis_value(values.next()?).ok()?;
        messages.push((offset, Frame::from(frame)));
    }
    Some(HistoryPage::new(epoch, top, first, messages))
}
