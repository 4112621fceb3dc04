//! What this backend puts on Redis: key and channel names, and the
//! envelope a message travels in.
//!
//! Per instance (each key expires `expiry` after the last heartbeat):
//!
//! | key | type | holds |
//! |---|---|---|
//! | `P:i:INSTANCE:alive` | string | present while the instance lives |
//! | `P:i:INSTANCE:groups` | hash | group → members on the instance |
//! | `P:i:INSTANCE:members` | hash | `CONNECTION GROUP` → 1, one field per membership |
//! | `P:instances` | set | every instance seen (readers drop dead ones) |
//!
//! Channels: `P:g:GROUP` for a group's messages (subscribed by the
//! instances with members in it), `P:c:INSTANCE` for messages to one
//! connection of that instance.
//!
//! Per group with history, `P:h:{GROUP}` and `P:h:{GROUP}:pos` (see
//! `history.rs`).

use rpc_server::connect::ConnectionId;
use rpc_server::groups::InstanceId;

/// Key and channel names under one prefix.
#[derive(Debug, Clone)]
pub(crate) struct Keys {
    prefix: String,
    group_channels: String,
}

impl Keys {
    pub(crate) fn new(prefix: &str) -> Self {
        Self {
            prefix: prefix.to_owned(),
            group_channels: format!("{prefix}:g:"),
        }
    }

    pub(crate) fn group_channel(&self, group: &str) -> String {
        format!("{}{group}", self.group_channels)
    }

    /// The group a channel carries, if it is a group channel.
    pub(crate) fn group_of<'c>(&self, channel: &'c str) -> Option<&'c str> {
        channel.strip_prefix(&self.group_channels)
    }

    pub(crate) fn connection_channel(&self, instance: InstanceId) -> String {
        format!("{}:c:{instance}", self.prefix)
    }

    pub(crate) fn alive(&self, instance: &str) -> String {
        format!("{}:i:{instance}:alive", self.prefix)
    }

    pub(crate) fn groups(&self, instance: &str) -> String {
        format!("{}:i:{instance}:groups", self.prefix)
    }

    pub(crate) fn members(&self, instance: &str) -> String {
        format!("{}:i:{instance}:members", self.prefix)
    }

    pub(crate) fn instances(&self) -> String {
        format!("{}:instances", self.prefix)
    }

    /// The stream of a group's history (the hash tag keeps both of its
    /// keys on one shard of a cluster).
    pub(crate) fn history(&self, group: &str) -> String {
        format!("{}:h:{{{group}}}", self.prefix)
    }

    /// The hash of its epoch and last offset.
    pub(crate) fn history_position(&self, group: &str) -> String {
        format!("{}:h:{{{group}}}:pos", self.prefix)
    }
}

/// Whether `frame` is a well-formed JSON-RPC 2.0 notification, all that an
/// instance ever sends another: anyone who can publish on this Redis can
/// put anything on our channels, and a response, a call or stray text must
/// not reach a client's socket as if the server had sent it.
pub(crate) fn is_notification(frame: &str) -> bool {
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Notification<'a> {
        #[serde(borrow)]
        jsonrpc: std::borrow::Cow<'a, str>,
        #[serde(borrow, rename = "method")]
        _method: std::borrow::Cow<'a, str>,
        #[serde(borrow, default)]
        params: Option<&'a serde_json::value::RawValue>,
    }
    match serde_json::from_str::<Notification<'_>>(frame) {
        Ok(notification) => {
            notification.jsonrpc == "2.0"
                && notification
                    .params
                    .is_none_or(|params| params.get().starts_with(['[', '{']))
        }
        Err(_) => false,
    }
}

/// The registry's field for connection `id`'s membership of `group`:
/// `ID GROUP` (an id has no space; a group may).
pub(crate) fn membership_field(id: ConnectionId, group: &str) -> String {
    format!("{id} {group}")
}

/// One message as published: `ORIGIN SEQ TARGET\nFRAME`, where ORIGIN is
/// the publishing instance, SEQ its count of messages on this channel
/// (gaps reveal losses), TARGET `-` for a group or the number of the
/// connection addressed, and FRAME the JSON-RPC message itself. A message
/// of a group with history also has its position, given by Redis:
/// `ORIGIN 0 - EPOCH OFFSET\nFRAME`.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Envelope<'a> {
    pub(crate) origin: InstanceId,
    pub(crate) seq: u64,
    pub(crate) target: Option<u64>,
    /// Its epoch and offset, in a group with history.
    pub(crate) position: Option<(&'a str, u64)>,
    pub(crate) frame: &'a str,
}

impl Envelope<'_> {
    /// `ORIGIN SEQ TARGET`: what comes before the position, or the newline.
    pub(crate) fn head(&self) -> String {
        let target = match self.target {
            Some(number) => number.to_string(),
            None => "-".to_owned(),
        };
        format!("{} {} {target}", self.origin, self.seq)
    }

    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut header = self.head();
        if let Some((epoch, offset)) = self.position {
            header.push_str(&format!(" {epoch} {offset}"));
        }
        header.push('\n');
        let mut bytes = Vec::with_capacity(header.len() + self.frame.len());
        bytes.extend_from_slice(header.as_bytes());
        bytes.extend_from_slice(self.frame.as_bytes());
        bytes
    }

    /// Reads a published message; `None` for anything that is not one
    /// (another program's message on a channel under our prefix).
    pub(crate) fn decode(bytes: &[u8]) -> Option<Envelope<'_>> {
        let text = std::str::from_utf8(bytes).ok()?;
        let (header, frame) = text.split_once('\n')?;
        let mut fields = header.split(' ');
        let origin = fields.next()?.parse().ok()?;
        let seq = fields.next()?.parse().ok()?;
        let target = match fields.next()? {
            "-" => None,
            number => Some(number.parse().ok()?),
        };
        let position = match fields.next() {
            None => None,
            Some(epoch) if target.is_none() && !epoch.is_empty() => {
                Some((epoch, fields.next()?.parse().ok()?))
            }
            Some(_) => return None,
        };
        if fields.next().is_some() || !is_notification(frame) {
            return None;
        }
        Some(Envelope {
            origin,
            seq,
            target,
            position,
            frame,
        })
    }

    /// The connection addressed, on `instance` (the receiver).
    pub(crate) fn connection(&self, instance: InstanceId) -> Option<ConnectionId> {
        self.target
            .map(|number| ConnectionId::new(instance, number))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelopes_round_trip() {
        let origin = InstanceId::from_u64(0xabc);
        for (target, position) in [(None, None), (Some(42), None), (None, Some(("e0", 9)))] {
            let envelope = Envelope {
                origin,
                seq: 7,
                target,
                position,
                frame: r#"{"jsonrpc":"2.0","method":"m","params":["a\nb"]}"#,
            };
            let bytes = envelope.encode();
            assert_eq!(Envelope::decode(&bytes), Some(envelope));
        }
        assert_eq!(
            Envelope {
                origin,
                seq: 1,
                target: None,
                position: None,
                frame: "{}"
            }
            .encode(),
            b"0000000000000abc 1 -\n{}"
        );
    }

    #[test]
    fn strangers_on_our_channels_are_ignored() {
        let valid = r#"{"jsonrpc":"2.0","method":"m"}"#;
        let with = |head: &str, frame: &str| format!("{head}\n{frame}").into_bytes();
        assert!(Envelope::decode(&with("0000000000000abc 1 -", valid)).is_some());
        let bad_heads = [
            "0000000000000abc x -",
            "0000000000000abc 1 - extra",
            "nothex0000000abc 1 -",
            "0000000000000abc 0 - e0",
            "0000000000000abc 0 - e0 x",
            "0000000000000abc 0 7 e0 1",
        ];
        // Not notifications: a response, a call, bad params, another
        // version, a member twice, text.
        let bad_frames = [
            r#"{"jsonrpc":"2.0","result":1,"id":1}"#,
            r#"{"jsonrpc":"2.0","method":"m","id":1}"#,
            r#"{"jsonrpc":"2.0","method":"m","params":3}"#,
            r#"{"jsonrpc":"1.0","method":"m"}"#,
            r#"{"jsonrpc":"2.0","method":"m","method":"n"}"#,
            "\u{1b}]52;c;clipboard",
            "{}",
        ];
        let mut bad: Vec<Vec<u8>> = vec![
            b"".to_vec(),
            b"hello".to_vec(),
            b"0000000000000abc 1 -".to_vec(),
            b"0000000000000abc 1 -\n".to_vec(),
            b"0000000000000abc 1 -\n\xff".to_vec(),
        ];
        bad.extend(bad_heads.iter().map(|head| with(head, valid)));
        bad.extend(
            bad_frames
                .iter()
                .map(|frame| with("0000000000000abc 1 -", frame)),
        );
        for bad in &bad {
            assert_eq!(
                Envelope::decode(bad),
                None,
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn names_live_under_the_prefix() {
        let keys = Keys::new("app");
        let channel = keys.group_channel("room:1");
        assert_eq!(channel, "app:g:room:1");
        assert_eq!(keys.group_of(&channel), Some("room:1"));
        assert_eq!(keys.group_of("app:c:0000000000000001"), None);
        assert_eq!(
            keys.connection_channel(InstanceId::from_u64(1)),
            "app:c:0000000000000001"
        );
        assert_eq!(keys.alive("x"), "app:i:x:alive");
        assert_eq!(keys.instances(), "app:instances");
        assert_eq!(keys.history("room:1"), "app:h:{room:1}");
        assert_eq!(keys.history_position("room:1"), "app:h:{room:1}:pos");
    }
}
