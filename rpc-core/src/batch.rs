//! Splitting a batch into its elements without parsing them.

use std::fmt;

use serde::de::{Deserializer, IgnoredAny, SeqAccess, Visitor};
use serde_json::value::RawValue;

/// Why a batch could not be split.
pub(crate) enum SplitError {
    /// The message is not valid JSON.
    Syntax(serde_json::Error),
    /// More elements than the batch limit.
    TooLarge,
}

/// Splits a JSON array into its elements' raw text, holding at most `max`
/// of them. A longer array is still read to its end (so invalid JSON anywhere
/// is a Parse error) but nothing past `max` is kept.
pub(crate) fn split(json: &str, max: usize) -> Result<Vec<&RawValue>, SplitError> {
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
    type Value = Option<Vec<&'de RawValue>>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a batch (an array of requests)")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut elements = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(self.max));
        while let Some(element) = seq.next_element::<&'de RawValue>()? {
            if elements.len() == self.max {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                return Ok(None);
            }
            elements.push(element);
        }
        Ok(Some(elements))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_each_element_text() {
        let Ok(elements) = split(r#"[1, {"a": [2]} ,"x"]"#, 10) else {
            panic!("valid batch")
        };
        let texts: Vec<_> = elements.iter().map(|e| e.get()).collect();
        assert_eq!(texts, ["1", r#"{"a": [2]}"#, r#""x""#]);
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
