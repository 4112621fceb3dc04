//! Request ids, kept as the raw JSON text they arrived as.

use std::fmt;

use serde::Serialize;
use serde_json::value::RawValue;

/// A request id: a string, a number or null, kept as the exact JSON text it
/// arrived as so that it is echoed back byte for byte (`1.0` stays `1.0`,
/// `9007199254740993` is not rounded, `"\u0078"` keeps its escape).
///
/// ```
/// use rpc_core::Id;
///
/// let id = Id::parse("9007199254740993").unwrap();
/// assert_eq!(id.as_raw(), "9007199254740993");
/// assert_eq!(id.as_u64(), Some(9007199254740993));
/// assert!(Id::parse("true").is_none());
/// assert!(Id::parse("[1]").is_none());
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Id<'a>(&'a str);

/// The kind of JSON value an [`Id`] holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdKind {
    /// A JSON string.
    String,
    /// A JSON number (any, though the specification advises integers).
    Number,
    /// `null`: a call whose response will carry `"id": null`.
    Null,
}

impl<'a> Id<'a> {
    /// The id `null`.
    pub const NULL: Id<'static> = Id("null");

    /// Reads an id from one JSON value's text, or `None` if the value is not a
    /// string, number or null. The text must be a single, valid JSON value.
    pub fn parse(json: &'a str) -> Option<Self> {
        let raw: &RawValue = serde_json::from_str(json).ok()?;
        Self::from_raw(raw)
    }

    /// Accepts a raw JSON value as an id if it is a string, number or null.
    pub(crate) fn from_raw(raw: &'a RawValue) -> Option<Self> {
        let text = raw.get();
        match text.as_bytes().first()? {
            b'"' | b'-' | b'0'..=b'9' => Some(Self(text)),
            b'n' => Some(Self(text)), // a valid JSON value starting with n is null
            _ => None,
        }
    }

    /// The id's exact JSON text.
    pub fn as_raw(&self) -> &'a str {
        self.0
    }

    /// What kind of value the id is.
    pub fn kind(&self) -> IdKind {
        match self.0.as_bytes()[0] {
            b'"' => IdKind::String,
            b'n' => IdKind::Null,
            _ => IdKind::Number,
        }
    }

    /// Whether the id is `null`.
    pub fn is_null(&self) -> bool {
        self.kind() == IdKind::Null
    }

    /// The id as an unsigned integer, if it is one.
    pub fn as_u64(&self) -> Option<u64> {
        serde_json::from_str(self.0).ok()
    }

    /// The id as a signed integer, if it is one.
    pub fn as_i64(&self) -> Option<i64> {
        serde_json::from_str(self.0).ok()
    }

    /// The id's string value (escapes decoded), if it is a string.
    pub fn as_string(&self) -> Option<String> {
        serde_json::from_str(self.0).ok()
    }

    /// An owned copy, for keeping past the message it arrived in.
    pub fn to_owned(&self) -> OwnedId {
        OwnedId(self.0.into())
    }
}

impl fmt::Debug for Id<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Id({})", self.0)
    }
}

impl fmt::Display for Id<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl Serialize for Id<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        // The text was validated as one JSON value when it was parsed.
        match serde_json::from_str::<&RawValue>(self.0) {
            Ok(raw) => raw.serialize(serializer),
            Err(_) => serializer.serialize_none(),
        }
    }
}

/// An [`Id`] that owns its text.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct OwnedId(Box<str>);

impl OwnedId {
    /// Borrows it as an [`Id`].
    pub fn as_id(&self) -> Id<'_> {
        Id(&self.0)
    }
}

impl fmt::Debug for OwnedId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.as_id(), f)
    }
}

impl fmt::Display for OwnedId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
