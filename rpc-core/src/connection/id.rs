//! Names for server instances and their connections that stay unique when
//! several instances share one set of groups.

use std::fmt;
use std::hash::{BuildHasher as _, Hasher as _};
use std::str::FromStr;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// One server instance (or publisher) among those sharing a group backend:
/// 64 random bits, shown as 16 hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct InstanceId(u64);

impl InstanceId {
    /// A fresh random id.
    pub fn random() -> Self {
        // std's `RandomState` is seeded from the operating system's random
        // source: hashing a counter with it gives unpredictable bits
        // without a dependency for it.
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
        hasher.write_u32(std::process::id());
        Self(hasher.finish())
    }

    /// The id this process uses for connections no server assigned (the
    /// in-memory harness, [`ConnectionInfo::new`](crate::ConnectionInfo::new)).
    pub fn process() -> Self {
        static PROCESS: OnceLock<InstanceId> = OnceLock::new();
        *PROCESS.get_or_init(Self::random)
    }

    /// The id from its 64 bits.
    pub const fn from_u64(bits: u64) -> Self {
        Self(bits)
    }

    /// Its 64 bits.
    pub const fn as_u64(self) -> u64 {
        self.0
    }
}

impl fmt::Display for InstanceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

impl fmt::Debug for InstanceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "InstanceId({self})")
    }
}

impl FromStr for InstanceId {
    type Err = ParseIdError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if text.len() != 16 {
            return Err(ParseIdError(()));
        }
        u64::from_str_radix(text, 16)
            .map(Self)
            .map_err(|_| ParseIdError(()))
    }
}

/// One connection, unique across every instance sharing a group backend:
/// the instance that holds it and a number that instance gave it. Shown as
/// `"<instance>-<number>"` (`"9f3ac2e1b04d7e55-42"`), which is also its form
/// in JSON.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnectionId {
    instance: InstanceId,
    number: u64,
}

impl ConnectionId {
    /// A fresh id on `instance`: the number comes from a counter this
    /// process shares between all its servers.
    pub fn next(instance: InstanceId) -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        Self {
            instance,
            number: NEXT.fetch_add(1, Ordering::Relaxed),
        }
    }

    /// The id made of its two parts.
    pub const fn new(instance: InstanceId, number: u64) -> Self {
        Self { instance, number }
    }

    /// The instance holding the connection.
    pub const fn instance(self) -> InstanceId {
        self.instance
    }

    /// The connection's number on its instance.
    pub const fn number(self) -> u64 {
        self.number
    }
}

impl fmt::Display for ConnectionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.instance, self.number)
    }
}

impl fmt::Debug for ConnectionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ConnectionId({self})")
    }
}

impl FromStr for ConnectionId {
    type Err = ParseIdError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let (instance, number) = text.split_once('-').ok_or(ParseIdError(()))?;
        if number.is_empty() || !number.bytes().all(|byte| byte.is_ascii_digit()) {
            return Err(ParseIdError(()));
        }
        Ok(Self {
            instance: instance.parse()?,
            number: number.parse().map_err(|_| ParseIdError(()))?,
        })
    }
}

impl Serialize for ConnectionId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ConnectionId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl schemars::JsonSchema for ConnectionId {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "ConnectionId".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "pattern": "^[0-9a-f]{16}-[0-9]+$",
            "description": "A connection: its server instance and its number there",
        })
    }
}

/// A string that is not an [`InstanceId`] or a [`ConnectionId`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseIdError(());

impl fmt::Display for ParseIdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("expected 16 hex digits, a dash and a number (\"9f3ac2e1b04d7e55-42\")")
    }
}

impl std::error::Error for ParseIdError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_print_and_parse_back() {
        let id = ConnectionId::new(InstanceId::from_u64(0x9f3a_c2e1_b04d_7e55), 42);
        assert_eq!(id.to_string(), "9f3ac2e1b04d7e55-42");
        assert_eq!("9f3ac2e1b04d7e55-42".parse::<ConnectionId>(), Ok(id));
        assert_eq!(
            serde_json::to_string(&id).unwrap(),
            "\"9f3ac2e1b04d7e55-42\""
        );
        assert_eq!(
            serde_json::from_str::<ConnectionId>("\"9f3ac2e1b04d7e55-42\"").unwrap(),
            id
        );
        assert_eq!(
            InstanceId::from_u64(1).to_string().parse(),
            Ok(InstanceId::from_u64(1))
        );
    }

    #[test]
    fn malformed_ids_are_refused() {
        for bad in [
            "",
            "42",
            "9f3ac2e1b04d7e55",
            "9f3ac2e1b04d7e55-",
            "9f3ac2e1b04d7e55-+4",
            "9f3ac2e1b04d7e5-42",
            "zf3ac2e1b04d7e55-42",
            "9f3ac2e1b04d7e55-42-1",
        ] {
            assert!(bad.parse::<ConnectionId>().is_err(), "{bad}");
        }
    }

    #[test]
    fn instances_differ_and_numbers_grow() {
        assert_ne!(InstanceId::random(), InstanceId::random());
        assert_eq!(InstanceId::process(), InstanceId::process());
        let instance = InstanceId::random();
        let (a, b) = (ConnectionId::next(instance), ConnectionId::next(instance));
        assert_eq!(a.instance(), instance);
        assert!(b.number() > a.number());
    }
}
