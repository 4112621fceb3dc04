//! Where a message stands in a group's history, and the items of a
//! subscription that carries positions, so that a client that comes back
//! can ask for what it missed (`since`).
//!
//! ```text
//! ← {"jsonrpc":"2.0","method":"room","params":{"subscription":"…","result":{…},"position":{"epoch":"9f3ac2e1","offset":42}}}
//! ← {"jsonrpc":"2.0","method":"room","params":{"subscription":"…","recovered":false,"position":{"epoch":"77b01c3d","offset":1000}}}
//! ```

use std::fmt;

use serde::{Deserialize, Serialize};

/// A message's place in a group's history: the history's `epoch` (it
/// changes when the history is lost: a Redis flush, a restart of an
/// in-memory backend, a group idle past its history's age) and the
/// message's `offset` in it (1 for the first message, then one more for
/// each, across every instance).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Position {
    /// The history this offset counts in.
    pub epoch: String,
    /// The message's number in it.
    pub offset: u64,
}

impl Position {
    /// A position: `offset` in the history `epoch`.
    pub fn new(epoch: impl Into<String>, offset: u64) -> Self {
        Self {
            epoch: epoch.into(),
            offset,
        }
    }
}

impl schemars::JsonSchema for Position {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Position".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "A message's place in a group's history: the history's epoch, and the message's offset in it.",
            "type": "object",
            "properties": {
                "epoch": {"type": "string"},
                "offset": {"type": "integer", "format": "uint64", "minimum": 0}
            },
            "required": ["epoch", "offset"]
        })
    }
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.epoch, self.offset)
    }
}

/// One item of a subscription that follows a group
/// ([`Peer::group_stream_since`](crate::Peer::group_stream_since)): an
/// item with its position, or the notice that what the client asked for
/// could not be recovered.
///
/// A subscription whose items are `Positioned` sends the position beside
/// the item (`"result": …, "position": {…}`) and the notice as
/// `"recovered": false, "position": {…}`.
#[derive(Debug, Clone, PartialEq)]
pub enum Positioned<T> {
    /// An item; its position when the group keeps history (`None` for a
    /// group without).
    Item {
        /// The item.
        item: T,
        /// Its place in the group's history.
        position: Option<Position>,
    },
    /// The messages after the client's `since` are no longer all held
    /// (older than the history, or another epoch): the application should
    /// reload its state. The items that follow come after `position`.
    NotRecovered {
        /// The last position sent before the items that follow.
        position: Position,
    },
}

impl<T> Positioned<T> {
    /// The item, if this is one.
    pub fn item(&self) -> Option<&T> {
        match self {
            Self::Item { item, .. } => Some(item),
            Self::NotRecovered { .. } => None,
        }
    }

    /// Its position, when it has one.
    pub fn position(&self) -> Option<&Position> {
        match self {
            Self::Item { position, .. } => position.as_ref(),
            Self::NotRecovered { position } => Some(position),
        }
    }

    /// The same position, with the item mapped by `f`.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Positioned<U> {
        match self {
            Self::Item { item, position } => Positioned::Item {
                item: f(item),
                position,
            },
            Self::NotRecovered { position } => Positioned::NotRecovered { position },
        }
    }
}

/// Writes `,"position":{"epoch":…,"offset":…}`.
pub(crate) fn write_position(out: &mut Vec<u8>, position: &Position) {
    out.extend_from_slice(br#","position":"#);
    // A string and a number always serialize.
    let _ = serde_json::to_writer(&mut *out, position);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_read_and_write_as_the_wire_has_them() {
        let position = Position::new("9f3a", 42);
        assert_eq!(
            serde_json::to_string(&position).unwrap(),
            r#"{"epoch":"9f3a","offset":42}"#
        );
        let read: Position = serde_json::from_str(r#"{"offset":42,"epoch":"9f3a"}"#).unwrap();
        assert_eq!(read, position);
        assert_eq!(position.to_string(), "9f3a:42");
        let item = Positioned::Item {
            item: 1,
            position: Some(position.clone()),
        };
        assert_eq!(item.position(), Some(&position));
        assert_eq!(item.map(|n| n + 1).item(), Some(&2));
    }
}
