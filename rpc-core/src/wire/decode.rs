//! Decoding params straight into a method's typed arguments, by position or
//! by name, without a `serde_json::Value` in between.

use std::cell::RefCell;
use std::fmt;
use std::marker::PhantomData;

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

use crate::wire::error::RpcError;
use crate::wire::params::Params;

/// A method's JSON parameters as a tuple, decodable from [`Params`].
///
/// Implemented for tuples of up to 16 elements. By position (an array):
/// exact arity, except that trailing parameters that accept absence
/// (`Option<T>`) may be left out. By name (an object): every required name
/// present, optional ones may be absent, an unknown or repeated key is an
/// error. Omitted params are an empty array.
///
/// ```
/// use rpc_core::__private::decode;
/// use rpc_core::Params;
/// use serde_json::value::RawValue;
///
/// let by_name = RawValue::from_string(r#"{"b": 2, "a": 1}"#.into()).unwrap();
/// let (a, b, c): (i64, i64, Option<String>) =
///     decode(Params::new(&by_name), &["a", "b", "c"]).unwrap();
/// assert_eq!((a, b, c), (1, 2, None));
///
/// let too_many = RawValue::from_string("[1, 2, 3]".into()).unwrap();
/// let err = decode::<(i64, i64)>(Params::new(&too_many), &["a", "b"]).unwrap_err();
/// assert_eq!(err.data().unwrap().get(), r#""too many parameters: expected at most 2""#);
/// ```
pub trait ParamList<'de>: Sized {
    /// Decodes the params; `names` are the parameters' names in order.
    fn decode(params: Params<'de>, names: &'static [&'static str]) -> Result<Self, RpcError>;
}

/// Decodes `params` into the tuple `P`; see [`ParamList`].
pub fn decode<'de, P: ParamList<'de>>(
    params: Params<'de>,
    names: &'static [&'static str],
) -> Result<P, RpcError> {
    P::decode(params, names)
}

/// What was wrong with the params; becomes the INVALID_PARAMS `data`.
enum Problem {
    Invalid { name: &'static str, reason: String },
    Missing(&'static str),
    Unknown(String),
    Duplicate(&'static str),
    TooMany(usize),
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Invalid { name, reason } => write!(f, "invalid parameter `{name}`: {reason}"),
            Self::Missing(name) => write!(f, "missing required parameter `{name}`"),
            Self::Unknown(key) => write!(f, "unknown parameter `{key}`"),
            Self::Duplicate(name) => write!(f, "parameter `{name}` is given more than once"),
            Self::TooMany(max) => write!(f, "too many parameters: expected at most {max}"),
        }
    }
}

/// Where a visitor records the problem before serde unwinds with an opaque
/// error.
#[derive(Clone, Copy)]
struct Report<'p>(&'p RefCell<Option<Problem>>);

impl Report<'_> {
    fn fail<E: de::Error>(self, problem: Problem) -> E {
        let error = E::custom(&problem);
        self.0.borrow_mut().get_or_insert(problem);
        error
    }
}

/// Client-supplied text in a message is shortened, so an error never echoes
/// megabytes back.
fn shorten(mut text: String) -> String {
    const MAX: usize = 200;
    if text.len() > MAX {
        let mut end = MAX;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
        text.push('…');
    }
    text
}

/// serde_json appends " at line L column C" to its messages: meaningless
/// inside params, so it is dropped.
fn without_position(message: String) -> String {
    match message.rfind(" at line ") {
        Some(at) if message[at..].contains(" column ") => message[..at].to_owned(),
        _ => message,
    }
}

/// Runs a visitor over the params and turns a failure into INVALID_PARAMS.
fn run<'de, V: Visitor<'de>>(
    params: Params<'de>,
    visitor: V,
    problem: &RefCell<Option<Problem>>,
) -> Result<V::Value, RpcError> {
    let json = params.raw().map_or("[]", RawValue::get);
    let mut de = serde_json::Deserializer::from_str(json);
    de.deserialize_any(visitor)
        .map_err(|err| match problem.take() {
            Some(problem) => RpcError::invalid_params(problem),
            None => RpcError::invalid_params(without_position(err.to_string())),
        })
}

/// One parameter's value, with failures attributed to its name.
struct Param<'p, T> {
    name: &'static str,
    report: Report<'p>,
    ty: PhantomData<T>,
}

impl<'p, T> Param<'p, T> {
    fn new(name: &'static str, report: Report<'p>) -> Self {
        Self {
            name,
            report,
            ty: PhantomData,
        }
    }
}

impl<'de, T: Deserialize<'de>> DeserializeSeed<'de> for Param<'_, T> {
    type Value = T;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<T, D::Error> {
        T::deserialize(deserializer).map_err(|err| {
            let reason = shorten(without_position(err.to_string()));
            self.report.fail(Problem::Invalid {
                name: self.name,
                reason,
            })
        })
    }
}

/// The value of a parameter that was not sent: `None` for an `Option`, an
/// error for anything else.
fn absent<'de, T: Deserialize<'de>, E: de::Error>(
    name: &'static str,
    report: Report<'_>,
) -> Result<T, E> {
    T::deserialize(Absent).map_err(|_| report.fail(Problem::Missing(name)))
}

/// A deserializer for "nothing here": only `Option` accepts it.
struct Absent;

impl<'de> Deserializer<'de> for Absent {
    type Error = de::value::Error;

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
        Err(de::Error::custom("missing"))
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        visitor.visit_none()
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct newtype_struct seq tuple
        tuple_struct map struct enum identifier ignored_any
    }
}

/// An object key, resolved to the index of the parameter it names.
struct KeyIndex<'p> {
    names: &'static [&'static str],
    report: Report<'p>,
}

impl<'de> DeserializeSeed<'de> for KeyIndex<'_> {
    type Value = usize;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<usize, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl Visitor<'_> for KeyIndex<'_> {
    type Value = usize;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a parameter name")
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<usize, E> {
        self.names
            .iter()
            .position(|name| *name == key)
            .ok_or_else(|| self.report.fail(Problem::Unknown(shorten(key.to_owned()))))
    }
}

/// Visits an array or an object into a tuple of parameters.
struct Args<'p, P> {
    names: &'static [&'static str],
    report: Report<'p>,
    ty: PhantomData<P>,
}

macro_rules! param_list {
    ($len:literal; $($ty:ident $index:tt $var:ident),*) => {
        impl<'de, $($ty: Deserialize<'de>),*> ParamList<'de> for ($($ty,)*) {
            fn decode(
                params: Params<'de>,
                names: &'static [&'static str],
            ) -> Result<Self, RpcError> {
                debug_assert_eq!(names.len(), $len, "one name per parameter");
                let problem = RefCell::new(None);
                let visitor: Args<'_, Self> = Args {
                    names,
                    report: Report(&problem),
                    ty: PhantomData,
                };
                run(params, visitor, &problem)
            }
        }

        impl<'de, $($ty: Deserialize<'de>),*> Visitor<'de> for Args<'_, ($($ty,)*)> {
            type Value = ($($ty,)*);

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an array or an object of parameters")
            }

            #[allow(unused_mut, unused_variables)]
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let report = self.report;
                $(
                    let $var = match seq.next_element_seed(Param::<$ty>::new(self.names[$index], report))? {
                        Some(value) => value,
                        None => absent(self.names[$index], report)?,
                    };
                )*
                if seq.next_element::<IgnoredAny>()?.is_some() {
                    return Err(report.fail(Problem::TooMany($len)));
                }
                Ok(($($var,)*))
            }

            #[allow(unused_mut, unused_variables)]
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let report = self.report;
                $( let mut $var: Option<$ty> = None; )*
                while let Some(index) = map.next_key_seed(KeyIndex { names: self.names, report })? {
                    match index {
                        $(
                            $index => {
                                if $var.is_some() {
                                    return Err(report.fail(Problem::Duplicate(self.names[$index])));
                                }
                                $var = Some(map.next_value_seed(Param::<$ty>::new(self.names[$index], report))?);
                            }
                        )*
                        _ => map.next_value::<IgnoredAny>().map(drop)?,
                    }
                }
                $(
                    let $var = match $var {
                        Some(value) => value,
                        None => absent(self.names[$index], report)?,
                    };
                )*
                Ok(($($var,)*))
            }
        }
    };
}

param_list!(0;);
param_list!(1; T0 0 a0);
param_list!(2; T0 0 a0, T1 1 a1);
param_list!(3; T0 0 a0, T1 1 a1, T2 2 a2);
param_list!(4; T0 0 a0, T1 1 a1, T2 2 a2, T3 3 a3);
param_list!(5; T0 0 a0, T1 1 a1, T2 2 a2, T3 3 a3, T4 4 a4);
param_list!(6; T0 0 a0, T1 1 a1, T2 2 a2, T3 3 a3, T4 4 a4, T5 5 a5);
param_list!(7; T0 0 a0, T1 1 a1, T2 2 a2, T3 3 a3, T4 4 a4, T5 5 a5, T6 6 a6);
param_list!(8; T0 0 a0, T1 1 a1, T2 2 a2, T3 3 a3, T4 4 a4, T5 5 a5, T6 6 a6, T7 7 a7);
param_list!(9; T0 0 a0, T1 1 a1, T2 2 a2, T3 3 a3, T4 4 a4, T5 5 a5, T6 6 a6, T7 7 a7, T8 8 a8);
param_list!(10; T0 0 a0, T1 1 a1, T2 2 a2, T3 3 a3, T4 4 a4, T5 5 a5, T6 6 a6, T7 7 a7, T8 8 a8, T9 9 a9);
param_list!(11; T0 0 a0, T1 1 a1, T2 2 a2, T3 3 a3, T4 4 a4, T5 5 a5, T6 6 a6, T7 7 a7, T8 8 a8, T9 9 a9, T10 10 a10);
param_list!(12; T0 0 a0, T1 1 a1, T2 2 a2, T3 3 a3, T4 4 a4, T5 5 a5, T6 6 a6, T7 7 a7, T8 8 a8, T9 9 a9, T10 10 a10, T11 11 a11);
param_list!(13; T0 0 a0, T1 1 a1, T2 2 a2, T3 3 a3, T4 4 a4, T5 5 a5, T6 6 a6, T7 7 a7, T8 8 a8, T9 9 a9, T10 10 a10, T11 11 a11, T12 12 a12);
param_list!(14; T0 0 a0, T1 1 a1, T2 2 a2, T3 3 a3, T4 4 a4, T5 5 a5, T6 6 a6, T7 7 a7, T8 8 a8, T9 9 a9, T10 10 a10, T11 11 a11, T12 12 a12, T13 13 a13);
param_list!(15; T0 0 a0, T1 1 a1, T2 2 a2, T3 3 a3, T4 4 a4, T5 5 a5, T6 6 a6, T7 7 a7, T8 8 a8, T9 9 a9, T10 10 a10, T11 11 a11, T12 12 a12, T13 13 a13, T14 14 a14);
param_list!(16; T0 0 a0, T1 1 a1, T2 2 a2, T3 3 a3, T4 4 a4, T5 5 a5, T6 6 a6, T7 7 a7, T8 8 a8, T9 9 a9, T10 10 a10, T11 11 a11, T12 12 a12, T13 13 a13, T14 14 a14, T15 15 a15);

/// The most JSON parameters a method may have.
pub const MAX_PARAMS: usize = 16;

#[cfg(test)]
mod tests {
    use super::*;

    fn params(json: &str) -> Box<RawValue> {
        RawValue::from_string(json.to_owned()).unwrap()
    }

    fn problem<P: for<'de> ParamList<'de> + fmt::Debug>(
        json: Option<&str>,
        names: &'static [&'static str],
    ) -> String {
        let raw = json.map(params);
        let p = raw.as_deref().map_or(Params::NONE, Params::new);
        let err = decode::<P>(p, names).expect_err("should fail");
        assert_eq!(err.code().code(), -32602);
        serde_json::from_str(err.data().unwrap().get()).unwrap()
    }

    fn ok<P: for<'de> ParamList<'de>>(json: Option<&str>, names: &'static [&'static str]) -> P {
        let raw = json.map(params);
        let p = raw.as_deref().map_or(Params::NONE, Params::new);
        decode::<P>(p, names).unwrap_or_else(|e| panic!("{e:?}"))
    }

    const AB: &[&str] = &["a", "b"];

    #[test]
    fn by_position_exact_arity() {
        assert_eq!(ok::<(i32, i32)>(Some("[1,2]"), AB), (1, 2));
        assert_eq!(
            problem::<(i32, i32)>(Some("[1]"), AB),
            "missing required parameter `b`"
        );
        assert_eq!(
            problem::<(i32, i32)>(Some("[1,2,3]"), AB),
            "too many parameters: expected at most 2"
        );
    }

    #[test]
    fn by_position_trailing_options_may_be_left_out() {
        assert_eq!(ok::<(i32, Option<i32>)>(Some("[1]"), AB), (1, None));
        assert_eq!(ok::<(i32, Option<i32>)>(Some("[1,null]"), AB), (1, None));
        assert_eq!(ok::<(i32, Option<i32>)>(Some("[1,5]"), AB), (1, Some(5)));
    }

    #[test]
    fn by_name_required_optional_unknown_duplicate() {
        assert_eq!(ok::<(i32, i32)>(Some(r#"{"b":2,"a":1}"#), AB), (1, 2));
        assert_eq!(ok::<(Option<i32>, i32)>(Some(r#"{"b":2}"#), AB), (None, 2));
        assert_eq!(
            problem::<(i32, i32)>(Some(r#"{"a":1}"#), AB),
            "missing required parameter `b`"
        );
        assert_eq!(
            problem::<(i32, i32)>(Some(r#"{"a":1,"b":2,"c":3}"#), AB),
            "unknown parameter `c`"
        );
        assert_eq!(
            problem::<(i32, i32)>(Some(r#"{"a":1,"a":2,"b":3}"#), AB),
            "parameter `a` is given more than once"
        );
    }

    #[test]
    fn omitted_params_are_empty() {
        ok::<()>(None, &[]);
        assert_eq!(ok::<(Option<i32>,)>(None, &["a"]), (None,));
        assert_eq!(
            problem::<(i32,)>(None, &["a"]),
            "missing required parameter `a`"
        );
    }

    #[test]
    fn no_params_rejects_any() {
        ok::<()>(Some("[]"), &[]);
        ok::<()>(Some("{}"), &[]);
        assert_eq!(
            problem::<()>(Some("[1]"), &[]),
            "too many parameters: expected at most 0"
        );
        assert_eq!(
            problem::<()>(Some(r#"{"x":1}"#), &[]),
            "unknown parameter `x`"
        );
    }

    #[test]
    fn type_errors_name_the_parameter_without_position() {
        assert_eq!(
            problem::<(i32, i32)>(Some(r#"[1,"x"]"#), AB),
            r#"invalid parameter `b`: invalid type: string "x", expected i32"#
        );
        assert_eq!(
            problem::<(i32, i32)>(Some(r#"{"a":true,"b":1}"#), AB),
            "invalid parameter `a`: invalid type: boolean `true`, expected i32"
        );
    }

    #[test]
    fn echoed_client_text_is_shortened() {
        let key = "k".repeat(10_000);
        let message = problem::<(i32,)>(Some(&format!(r#"{{"{key}":1}}"#)), &["a"]);
        assert!(message.len() < 300, "{} bytes", message.len());
    }
}
