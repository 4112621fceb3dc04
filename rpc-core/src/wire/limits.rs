//! Request limits, and the check that enforces them while parsing.

use std::cell::Cell;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

/// The limits every incoming message is held to. A message that exceeds one
/// is answered with REQUEST_TOO_LARGE (-32001), and the connection carries on.
///
/// The defaults:
///
/// | limit | default | applies to |
/// |---|---|---|
/// | [`max_message_size`](Self::max_message_size) | 10 MiB | the whole frame, checked before parsing |
/// | [`max_array_items`](Self::max_array_items) | 10,000 | every array and object inside `params` |
/// | [`max_string_length`](Self::max_string_length) | 1 MiB | every string (and object key) in `params`, and a string `id`, in bytes |
/// | [`max_depth`](Self::max_depth) | 20 | nesting of arrays and objects in `params` (`[1]` is depth 1) |
/// | [`max_method_name_length`](Self::max_method_name_length) | 256 | the method name, in characters |
/// | [`max_batch_size`](Self::max_batch_size) | 100 | the number of requests in one batch |
///
/// The array, string and depth limits are checked while parsing `params`,
/// without building a `serde_json::Value` tree first, and before any method
/// sees them.
///
/// ```
/// use rpc_core::Limits;
///
/// let limits = Limits::default().with_max_depth(8).with_max_batch_size(10);
/// assert_eq!(limits.max_depth, 8);
/// assert_eq!(limits.max_message_size, 10 * 1024 * 1024);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// The largest message accepted, in bytes.
    pub max_message_size: usize,
    /// The most items in any array, and members in any object, of `params`.
    pub max_array_items: usize,
    /// The longest string (or object key) in `params`, and the longest string
    /// `id`, in bytes.
    pub max_string_length: usize,
    /// The deepest nesting of arrays and objects in `params`; at most
    /// [`Limits::DEPTH_CEILING`].
    pub max_depth: usize,
    /// The longest method name, in characters.
    pub max_method_name_length: usize,
    /// The most requests in one batch.
    pub max_batch_size: usize,
}

impl Limits {
    /// The largest accepted [`max_depth`](Self::max_depth): the JSON parser
    /// underneath refuses to recurse further.
    pub const DEPTH_CEILING: usize = 120;

    /// Sets [`max_message_size`](Self::max_message_size).
    #[must_use]
    pub fn with_max_message_size(mut self, bytes: usize) -> Self {
        self.max_message_size = bytes;
        self
    }

    /// Sets [`max_array_items`](Self::max_array_items).
    #[must_use]
    pub fn with_max_array_items(mut self, items: usize) -> Self {
        self.max_array_items = items;
        self
    }

    /// Sets [`max_string_length`](Self::max_string_length).
    #[must_use]
    pub fn with_max_string_length(mut self, bytes: usize) -> Self {
        self.max_string_length = bytes;
        self
    }

    /// Sets [`max_depth`](Self::max_depth), capped at
    /// [`Limits::DEPTH_CEILING`].
    #[must_use]
    pub fn with_max_depth(mut self, depth: usize) -> Self {
        self.max_depth = depth.min(Self::DEPTH_CEILING);
        self
    }

    /// Sets [`max_method_name_length`](Self::max_method_name_length).
    #[must_use]
    pub fn with_max_method_name_length(mut self, chars: usize) -> Self {
        self.max_method_name_length = chars;
        self
    }

    /// Sets [`max_batch_size`](Self::max_batch_size).
    #[must_use]
    pub fn with_max_batch_size(mut self, requests: usize) -> Self {
        self.max_batch_size = requests;
        self
    }

    /// Checks the array, string and depth limits on one JSON value that is
    /// already known to be syntactically valid (`params`, say).
    pub(crate) fn check_value(&self, json: &str) -> Result<(), LimitExceeded> {
        if self.cannot_exceed(json) {
            return Ok(());
        }
        self.check_by_parsing(json)
    }

    fn check_by_parsing(&self, json: &str) -> Result<(), LimitExceeded> {
        let exceeded = Cell::new(None);
        let check = Check {
            limits: self,
            depth: 0,
            exceeded: &exceeded,
        };
        let mut de = serde_json::Deserializer::from_str(json);
        match check.deserialize(&mut de) {
            Ok(()) => Ok(()),
            // The input is valid JSON, so any failure is a limit; the parser's
            // own recursion limit can only trip on a deeper value than ours.
            Err(_) => Err(exceeded
                .get()
                .unwrap_or(LimitExceeded::Depth(self.max_depth))),
        }
    }
}

impl Limits {
    /// Whether `json` is plainly within every limit, by counting bytes
    /// instead of parsing: no string is longer than the whole text, nesting
    /// needs an opening bracket per level, and every array or object of n
    /// items holds n - 1 commas. Bytes inside strings only make the counts
    /// larger, so a "yes" is always right; a "no" means "parse and see".
    fn cannot_exceed(&self, json: &str) -> bool {
        let len = json.len();
        if len > self.max_string_length {
            return false;
        }
        // Every level of nesting takes two bytes, every item a byte and a
        // comma: most params are too short to need counting.
        if len / 2 <= self.max_depth.min(self.max_array_items) {
            return true;
        }
        let (mut openings, mut commas) = (0usize, 0usize);
        // Counted in byte-wide lanes, 255 bytes at a time, so the loop
        // vectorizes: this runs over every long params text.
        for chunk in json.as_bytes().chunks(255) {
            let (mut chunk_openings, mut chunk_commas) = (0u8, 0u8);
            for &byte in chunk {
                // '[' is 0x5B and '{' is 0x7B: they differ only in 0x20.
                chunk_openings += u8::from(byte | 0x20 == b'{');
                chunk_commas += u8::from(byte == b',');
            }
            openings += usize::from(chunk_openings);
            commas += usize::from(chunk_commas);
        }
        openings <= self.max_depth && commas < self.max_array_items
    }
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_message_size: 10 * 1024 * 1024,
            max_array_items: 10_000,
            max_string_length: 1024 * 1024,
            max_depth: 20,
            max_method_name_length: 256,
            max_batch_size: 100,
        }
    }
}

/// Which limit a request exceeded; becomes the `data` of REQUEST_TOO_LARGE.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LimitExceeded {
    MessageSize(usize),
    ArrayItems(usize),
    StringLength(usize),
    Depth(usize),
    MethodNameLength(usize),
    BatchSize(usize),
}

impl fmt::Display for LimitExceeded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::MessageSize(max) => write!(f, "message exceeds {max} bytes"),
            Self::ArrayItems(max) => write!(f, "an array or object in params exceeds {max} items"),
            Self::StringLength(max) => write!(f, "a string exceeds {max} bytes"),
            Self::Depth(max) => write!(f, "params are nested deeper than {max} levels"),
            Self::MethodNameLength(max) => write!(f, "method name exceeds {max} characters"),
            Self::BatchSize(max) => write!(f, "batch exceeds {max} requests"),
        }
    }
}

/// Walks one JSON value with serde's visitor, keeping nothing but counts.
struct Check<'l> {
    limits: &'l Limits,
    /// Containers entered so far.
    depth: usize,
    exceeded: &'l Cell<Option<LimitExceeded>>,
}

impl Check<'_> {
    fn fail<E: de::Error>(&self, limit: LimitExceeded) -> E {
        self.exceeded.set(Some(limit));
        E::custom(limit)
    }

    fn child<E: de::Error>(&self) -> Result<Self, E> {
        if self.depth >= self.limits.max_depth {
            return Err(self.fail(LimitExceeded::Depth(self.limits.max_depth)));
        }
        Ok(Check {
            depth: self.depth + 1,
            ..*self
        })
    }

    fn string<E: de::Error>(&self, s: &str) -> Result<(), E> {
        if s.len() > self.limits.max_string_length {
            return Err(self.fail(LimitExceeded::StringLength(self.limits.max_string_length)));
        }
        Ok(())
    }

    fn count<E: de::Error>(&self, items: usize) -> Result<(), E> {
        if items > self.limits.max_array_items {
            return Err(self.fail(LimitExceeded::ArrayItems(self.limits.max_array_items)));
        }
        Ok(())
    }
}

impl Clone for Check<'_> {
    fn clone(&self) -> Self {
        *self
    }
}
impl Copy for Check<'_> {}

impl<'de> DeserializeSeed<'de> for Check<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

/// An object key: its length is all that matters.
struct Key<'l>(Check<'l>);

impl<'de> DeserializeSeed<'de> for Key<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_str(self.0)
    }
}

impl<'de> Visitor<'de> for Check<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E: de::Error>(self, s: &str) -> Result<(), E> {
        self.string(s)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let child = self.child()?;
        let mut items = 0;
        while seq.next_element_seed(child)?.is_some() {
            items += 1;
            self.count(items)?;
        }
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let child = self.child()?;
        let mut items = 0;
        while map.next_key_seed(Key(child))?.is_some() {
            map.next_value_seed(child)?;
            items += 1;
            self.count(items)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nested(depth: usize) -> String {
        format!("{}{}", "[".repeat(depth), "]".repeat(depth))
    }

    #[test]
    fn depth_at_the_limit_passes_and_one_more_fails() {
        let limits = Limits::default();
        assert_eq!(limits.check_value(&nested(20)), Ok(()));
        assert_eq!(
            limits.check_value(&nested(21)),
            Err(LimitExceeded::Depth(20))
        );
    }

    #[test]
    fn objects_count_towards_depth() {
        let limits = Limits::default().with_max_depth(2);
        assert_eq!(limits.check_value(r#"{"a":[1]}"#), Ok(()));
        assert_eq!(
            limits.check_value(r#"{"a":{"b":[1, 2, 3, 4, 5, 6, 7]}}"#),
            Err(LimitExceeded::Depth(2))
        );
    }

    #[test]
    fn arrays_anywhere_in_params_are_counted() {
        let limits = Limits::default().with_max_array_items(3);
        assert_eq!(limits.check_value("[1,2,3]"), Ok(()));
        assert_eq!(
            limits.check_value("[[1,2,3,4]]"),
            Err(LimitExceeded::ArrayItems(3))
        );
        assert_eq!(
            limits.check_value(r#"{"a":1,"b":2,"c":3,"d":4}"#),
            Err(LimitExceeded::ArrayItems(3))
        );
    }

    /// Regression guard for the byte-counting shortcut: it may send a
    /// value to the parser needlessly, never wave through one that fails.
    #[test]
    fn the_byte_count_shortcut_never_passes_what_parsing_rejects() {
        let limits = Limits::default()
            .with_max_depth(4)
            .with_max_array_items(5)
            .with_max_string_length(64);
        let mut values = Vec::new();
        for depth in 0..7 {
            for items in 0..8 {
                for filler in [
                    "",
                    "\"[[[[[[,,,,,,\"",
                    "\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"",
                ] {
                    let mut inner: Vec<String> = (0..items).map(|i| i.to_string()).collect();
                    if !filler.is_empty() {
                        inner.push(filler.to_owned());
                    }
                    let mut value = format!("[{}]", inner.join(","));
                    for level in 0..depth {
                        value = if level % 2 == 0 {
                            format!("{{\"k\":{value}}}")
                        } else {
                            format!("[{value}]")
                        };
                    }
                    values.push(value);
                }
            }
        }
        let mut shortcuts = 0;
        for value in &values {
            if limits.cannot_exceed(value) {
                shortcuts += 1;
                assert_eq!(limits.check_by_parsing(value), Ok(()), "{value}");
            }
        }
        // The shortcut is taken for some values and not for others.
        assert!(shortcuts > 0 && shortcuts < values.len(), "{shortcuts}");
    }

    #[test]
    fn strings_and_keys_are_measured_after_unescaping() {
        let limits = Limits::default().with_max_string_length(3);
        assert_eq!(
            limits.check_value(r#"["abc","\u0041\u0042\u0043"]"#),
            Ok(())
        );
        assert_eq!(
            limits.check_value(r#"["abcd"]"#),
            Err(LimitExceeded::StringLength(3))
        );
        assert_eq!(
            limits.check_value(r#"{"abcd":1}"#),
            Err(LimitExceeded::StringLength(3))
        );
    }

    #[test]
    fn depth_is_capped_at_the_parser_ceiling() {
        let limits = Limits::default().with_max_depth(usize::MAX);
        assert_eq!(limits.max_depth, Limits::DEPTH_CEILING);
        assert_eq!(limits.check_value(&nested(Limits::DEPTH_CEILING)), Ok(()));
        assert!(limits.check_value(&nested(100_000)).is_err());
    }
}
