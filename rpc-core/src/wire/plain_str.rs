//! Writing a result that is a plain string without serde_json's
//! byte-at-a-time escape scan.
//!
//! serde_json looks up every byte of a string in its escape table; a
//! string with nothing to escape (most are) only needs its quotes. Whether
//! a result *is* a string is asked of its `Serialize` impl with a probe
//! that accepts a string and refuses everything else at the first call, so
//! any other value costs one refused call before serde_json writes it.

use std::fmt;

use serde::Serialize;
use serde::ser::{self, Impossible};

/// Writes `value` as JSON to `buf` if it serializes as a single string,
/// and says whether it did; otherwise `buf` is left as it was.
pub(crate) fn write_if_str<T: Serialize + ?Sized>(value: &T, buf: &mut Vec<u8>) -> bool {
    value.serialize(Probe { buf }).is_ok()
}

/// Writes `s` as a JSON string.
fn write_str(s: &str, buf: &mut Vec<u8>) {
    if needs_escape(s.as_bytes()) {
        // Rare: serde_json's escaping, which cannot fail for a `str`.
        let _ = serde_json::to_writer(buf, s);
        return;
    }
    buf.reserve(s.len() + 2);
    buf.push(b'"');
    buf.extend_from_slice(s.as_bytes());
    buf.push(b'"');
}

/// Whether any byte must be escaped in a JSON string: a quote, a
/// backslash, or a control character. Checked 64 bytes at a time without
/// early exits inside a block, so the check vectorizes.
fn needs_escape(bytes: &[u8]) -> bool {
    bytes.chunks(64).any(|block| {
        block.iter().fold(false, |found, &b| {
            found | (b < 0x20) | (b == b'"') | (b == b'\\')
        })
    })
}

struct Probe<'b> {
    buf: &'b mut Vec<u8>,
}

/// The probe's refusal: the value is not a string.
#[derive(Debug)]
struct NotAString;

impl fmt::Display for NotAString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("not a string")
    }
}

impl std::error::Error for NotAString {}

impl ser::Error for NotAString {
    fn custom<T: fmt::Display>(_: T) -> Self {
        NotAString
    }
}

macro_rules! refuse {
    ($($method:ident($($ty:ty),*);)*) => {
        $(fn $method(self, $(_: $ty),*) -> Result<(), NotAString> {
            Err(NotAString)
        })*
    };
}

impl ser::Serializer for Probe<'_> {
    type Ok = ();
    type Error = NotAString;
    type SerializeSeq = Impossible<(), NotAString>;
    type SerializeTuple = Impossible<(), NotAString>;
    type SerializeTupleStruct = Impossible<(), NotAString>;
    type SerializeTupleVariant = Impossible<(), NotAString>;
    type SerializeMap = Impossible<(), NotAString>;
    type SerializeStruct = Impossible<(), NotAString>;
    type SerializeStructVariant = Impossible<(), NotAString>;

    fn serialize_str(self, v: &str) -> Result<(), NotAString> {
        write_str(v, self.buf);
        Ok(())
    }

    refuse! {
        serialize_bool(bool);
        serialize_i8(i8);
        serialize_i16(i16);
        serialize_i32(i32);
        serialize_i64(i64);
        serialize_u8(u8);
        serialize_u16(u16);
        serialize_u32(u32);
        serialize_u64(u64);
        serialize_f32(f32);
        serialize_f64(f64);
        serialize_char(char);
        serialize_bytes(&[u8]);
        serialize_none();
        serialize_unit();
        serialize_unit_struct(&'static str);
        serialize_unit_variant(&'static str, u32, &'static str);
    }

    fn serialize_some<T: Serialize + ?Sized>(self, _: &T) -> Result<(), NotAString> {
        Err(NotAString)
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: &T,
    ) -> Result<(), NotAString> {
        // A newtype around a string (or serde_json's raw value, which
        // must be written verbatim) is left to serde_json.
        Err(NotAString)
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<(), NotAString> {
        Err(NotAString)
    }

    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, NotAString> {
        Err(NotAString)
    }

    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, NotAString> {
        Err(NotAString)
    }

    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct, NotAString> {
        Err(NotAString)
    }

    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, NotAString> {
        Err(NotAString)
    }

    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, NotAString> {
        Err(NotAString)
    }

    fn serialize_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStruct, NotAString> {
        Err(NotAString)
    }

    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, NotAString> {
        Err(NotAString)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fast(value: &(impl Serialize + ?Sized)) -> Option<String> {
        let mut buf = Vec::new();
        write_if_str(value, &mut buf).then(|| String::from_utf8(buf).unwrap())
    }

    /// Regression guard: the fast path writes exactly what serde_json
    /// would, escapes and all.
    #[test]
    fn strings_come_out_as_serde_json_writes_them() {
        let long = "x".repeat(200) + "\"" + &"y".repeat(100);
        let samples = [
            "",
            "plain",
            "quote \" inside",
            "back\\slash",
            "new\nline and tab\t",
            "\u{1}\u{1f}",
            "ünïcödé ✓ 🎉",
            "</script>",
            &long,
        ];
        for sample in samples {
            assert_eq!(
                fast(sample).as_deref(),
                Some(serde_json::to_string(sample).unwrap().as_str()),
                "{sample:?}"
            );
            assert_eq!(
                fast(&sample.to_owned()),
                Some(serde_json::to_string(sample).unwrap())
            );
        }
        for escaped_at in [0, 63, 64, 65, 127, 128, 199] {
            let mut s = "a".repeat(200);
            s.replace_range(escaped_at..=escaped_at, "\"");
            assert_eq!(fast(&s), Some(serde_json::to_string(&s).unwrap()));
        }
    }

    #[test]
    fn anything_else_is_left_to_serde_json() {
        assert_eq!(fast(&42), None);
        assert_eq!(fast(&Some("s")), None);
        assert_eq!(fast(&["a", "b"]), None);
        assert_eq!(fast(&()), None);
        let raw = serde_json::value::RawValue::from_string("\"raw\"".into()).unwrap();
        assert_eq!(fast(&raw), None);
        let mut buf = b"kept".to_vec();
        assert!(!write_if_str(&vec![1, 2], &mut buf));
        assert_eq!(buf, b"kept");
    }
}
