//! PARAMS on the command line: one JSON array or object, or `key=value`
//! pairs.

use serde_json::{Map, Value};

use crate::failure::Failure;

/// The params the arguments give; `None` for none at all.
pub(crate) fn parse(args: &[String]) -> Result<Option<Value>, Failure> {
    match args {
        [] => Ok(None),
        [json] if looks_like_json(json) => {
            let value: Value = serde_json::from_str(json)
                .map_err(|err| Failure::Usage(format!("PARAMS is not valid JSON: {err}")))?;
            match value {
                Value::Array(_) | Value::Object(_) => Ok(Some(value)),
                _ => Err(Failure::Usage(
                    "PARAMS must be a JSON array or object".to_owned(),
                )),
            }
        }
        pairs => pairs_to_object(pairs).map(|object| Some(Value::Object(object))),
    }
}

fn looks_like_json(arg: &str) -> bool {
    arg.trim_start().starts_with(['[', '{'])
}

/// `a=1 b=hello` → `{"a": 1, "b": "hello"}`: a value is JSON when it
/// parses as JSON, else a string.
fn pairs_to_object(pairs: &[String]) -> Result<Map<String, Value>, Failure> {
    let mut object = Map::new();
    for pair in pairs {
        let Some((key, value)) = pair.split_once('=').filter(|(key, _)| !key.is_empty()) else {
            return Err(Failure::Usage(format!(
                "expected PARAMS as one JSON array or object, or key=value pairs; got {pair:?}"
            )));
        };
        let value = serde_json::from_str(value).unwrap_or_else(|_| Value::String(value.to_owned()));
        if object.insert(key.to_owned(), value).is_some() {
            return Err(Failure::Usage(format!("{key:?} is given twice")));
        }
    }
    Ok(object)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn parsed(args: &[&str]) -> Result<Option<Value>, String> {
        let args: Vec<String> = args.iter().map(|arg| (*arg).to_owned()).collect();
        parse(&args).map_err(|failure| failure.to_string())
    }

    #[test]
    fn json_arrays_and_objects_pass_as_they_are() {
        assert_eq!(parsed(&[]), Ok(None));
        assert_eq!(parsed(&["[42,23]"]), Ok(Some(json!([42, 23]))));
        assert_eq!(parsed(&[r#" {"a":1}"#]), Ok(Some(json!({"a": 1}))));
    }

    #[test]
    fn pairs_make_an_object_with_json_or_string_values() {
        assert_eq!(
            parsed(&[
                "a=1",
                "b=hello world",
                "c=true",
                "d=[1,2]",
                r#"e="7""#,
                "f=",
                "g=x=y"
            ]),
            Ok(Some(json!({
                "a": 1, "b": "hello world", "c": true, "d": [1, 2], "e": "7", "f": "", "g": "x=y"
            })))
        );
    }

    #[test]
    fn anything_else_is_a_usage_error() {
        let error = parsed(&["[42,"]).unwrap_err();
        assert!(error.contains("not valid JSON"), "{error}");
        assert!(parsed(&["42"]).unwrap_err().contains("key=value"));
        assert!(parsed(&["=1"]).is_err());
        assert!(parsed(&["[1]", "[2]"]).is_err());
        assert!(parsed(&["a=1", "a=2"]).unwrap_err().contains("twice"));
    }
}
