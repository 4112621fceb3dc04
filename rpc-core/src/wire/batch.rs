//! Splitting a batch into its elements, each read as a request object's
//! members in the same pass.

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use crate::wire::request::{Members, MembersVisitor};

/// Why a batch could not be split.
pub(crate) enum SplitError {
    /// The message is not valid JSON.
    Syntax(serde_json::Error),
    /// More elements than the batch limit.
    TooLarge,
}

/// One element of a batch: a request object's members, or `None` for a
/// value that is not an object.
pub(crate) type Element<'a> = Option<Members<'a>>;

/// Splits a JSON array into its elements, holding at most `max` of them. A
/// longer array is still read to its end (so invalid JSON anywhere is a
/// Parse error) but nothing past `max` is kept.
pub(crate) fn split(json: &str, max: usize) -> Result<Vec<Element<'_>>, SplitError> {
    let mut de = serde_json::Deserializer::from_str(json);
    let outcome = de
        .deserialize_seq(Elements { max })
        .and_then(|elements| de.end().map(|()| elements));
    match outcome {
        Ok(Some(elements)) => Ok(elements),
        Ok(None) => Err(SplitError::TooLarge),
        Err(err) => Err(SplitError::Syntax(err)),
    }
}

struct Elements {
    max: usize,
}

impl<'de> Visitor<'de> for Elements {
    /// `None` when the batch holds more than `max` elements.
    type Value = Option<Vec<Element<'de>>>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a batch (an array of requests)")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut elements = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(self.max));
        while let Some(element) = seq.next_element_seed(ElementSeed)? {
            if elements.len() == self.max {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                return Ok(None);
            }
            elements.push(element);
        }
        Ok(Some(elements))
    }
}

/// Reads one element: an object's members, or skips any other value.
struct ElementSeed;

impl<'de> DeserializeSeed<'de> for ElementSeed {
    type Value = Element<'de>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ElementSeed {
    type Value = Element<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        MembersVisitor.visit_map(map).map(Some)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(None)
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objects_are_read_and_other_values_skipped() {
        let Ok(elements) = split(
            r#"[1, {"method": "m", "id": [2]} ,"x", [[{}]], null, {}]"#,
            10,
        ) else {
            panic!("valid batch")
        };
        let methods: Vec<_> = elements
            .iter()
            .map(|e| e.as_ref().map(|m| m.method.map(|raw| raw.get())))
            .collect();
        assert_eq!(
            methods,
            [None, Some(Some(r#""m""#)), None, None, None, Some(None)]
        );
        let id = elements[1].as_ref().and_then(|m| m.id).map(|raw| raw.get());
        assert_eq!(id, Some("[2]"));
    }

    #[test]
    fn a_batch_over_the_limit_is_too_large() {
        assert!(matches!(split("[1,2,3]", 2), Err(SplitError::TooLarge)));
        assert!(split("[1,2]", 2).is_ok());
    }

    #[test]
    fn invalid_json_past_the_limit_is_still_a_syntax_error() {
        assert!(matches!(split("[1,2,3,}", 2), Err(SplitError::Syntax(_))));
    }

    #[test]
    fn trailing_characters_are_a_syntax_error() {
        assert!(matches!(split("[1] x", 2), Err(SplitError::Syntax(_))));
    }
}
