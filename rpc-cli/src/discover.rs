//! `rpc discover`: an OpenRPC document as text a person reads, one method
//! per entry, with its signature and docs.

use std::fmt::Write as _;

use serde_json::Value;

/// The document's methods as text:
///
/// ```text
/// Calculator 0.1.0: 5 methods
///
///   subtract(minuend: integer, subtrahend: integer) -> integer
///       Subtracts `subtrahend` from `minuend`.
/// ```
pub(crate) fn render(doc: &Value) -> String {
    let mut out = String::new();
    let info = &doc["info"];
    let methods = doc["methods"].as_array().map_or(&[][..], Vec::as_slice);
    let _ = writeln!(
        out,
        "{} {}: {} method{}",
        text(&info["title"]).unwrap_or("(untitled)"),
        text(&info["version"]).unwrap_or(""),
        methods.len(),
        if methods.len() == 1 { "" } else { "s" }
    );
    if let Some(description) = text(&info["description"]) {
        let _ = writeln!(out, "{description}");
    }
    for method in methods {
        out.push('\n');
        render_method(&mut out, method);
    }
    // The server's strings go to a terminal: no escape sequences.
    out.retain(|c| c == '\n' || !c.is_control());
    out
}

fn render_method(out: &mut String, method: &Value) {
    let params: Vec<String> = method["params"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|param| {
            let optional = if param["required"] == Value::Bool(true) {
                ""
            } else {
                "?"
            };
            format!(
                "{}{optional}: {}",
                text(&param["name"]).unwrap_or("_"),
                type_of(&param["schema"])
            )
        })
        .collect();
    let _ = write!(
        out,
        "  {}({})",
        text(&method["name"]).unwrap_or("?"),
        params.join(", ")
    );
    // `x-notification` (OpenRPC 1.2, with a null result), or no result at
    // all (1.3).
    let result = &method["result"];
    if method["x-notification"] == Value::Bool(true) || result.is_null() {
        out.push_str("  [notification]");
    } else {
        let _ = write!(out, " -> {}", type_of(&result["schema"]));
    }
    if method["deprecated"] == Value::Bool(true) {
        out.push_str("  [deprecated]");
    }
    out.push('\n');
    if let Some(subscription) = method.get("x-subscription") {
        let _ = writeln!(
            out,
            "      subscription: {} notifications of {}, ended by {}",
            text(&subscription["notification"]).unwrap_or("?"),
            type_of(&subscription["item"]),
            text(&subscription["unsubscribe"]).unwrap_or("?"),
        );
    }
    let docs = text(&method["description"]).or_else(|| text(&method["summary"]));
    for line in docs.into_iter().flat_map(str::lines) {
        let _ = writeln!(out, "      {line}");
    }
}

fn text(value: &Value) -> Option<&str> {
    value.as_str().filter(|text| !text.is_empty())
}

/// A JSON Schema as a short type: `integer`, `string[]`, `Point`,
/// `"a" | "b"`, `integer | null`, `{x: number, y?: number}`.
pub(crate) fn type_of(schema: &Value) -> String {
    let Value::Object(schema) = schema else {
        // `true` (or an absent schema): anything.
        return "any".to_owned();
    };
    if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
        return reference.rsplit('/').next().unwrap_or(reference).to_owned();
    }
    if let Some(value) = schema.get("const") {
        return value.to_string();
    }
    if let Some(Value::Array(values)) = schema.get("enum") {
        return values
            .iter()
            .map(Value::to_string)
            .collect::<Vec<_>>()
            .join(" | ");
    }
    for key in ["anyOf", "oneOf"] {
        if let Some(Value::Array(options)) = schema.get(key) {
            return options.iter().map(type_of).collect::<Vec<_>>().join(" | ");
        }
    }
    if let Some(Value::Array(all)) = schema.get("allOf") {
        if let [only] = all.as_slice() {
            return type_of(only);
        }
    }
    match schema.get("type") {
        Some(Value::String(kind)) => type_named(kind, schema),
        Some(Value::Array(kinds)) => kinds
            .iter()
            .filter_map(Value::as_str)
            .map(|kind| type_named(kind, schema))
            .collect::<Vec<_>>()
            .join(" | "),
        _ => "any".to_owned(),
    }
}

fn type_named(kind: &str, schema: &serde_json::Map<String, Value>) -> String {
    match kind {
        "array" => match schema.get("items") {
            Some(Value::Array(tuple)) => {
                format!(
                    "[{}]",
                    tuple.iter().map(type_of).collect::<Vec<_>>().join(", ")
                )
            }
            Some(item) => {
                let item = type_of(item);
                if item.contains(' ') {
                    format!("({item})[]")
                } else {
                    format!("{item}[]")
                }
            }
            None => match schema.get("prefixItems") {
                Some(Value::Array(tuple)) => {
                    format!(
                        "[{}]",
                        tuple.iter().map(type_of).collect::<Vec<_>>().join(", ")
                    )
                }
                _ => "any[]".to_owned(),
            },
        },
        "object" => object_type(schema),
        other => other.to_owned(),
    }
}

fn object_type(schema: &serde_json::Map<String, Value>) -> String {
    let required: Vec<&str> = schema
        .get("required")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    match schema.get("properties") {
        Some(Value::Object(properties)) if !properties.is_empty() => {
            let fields: Vec<String> = properties
                .iter()
                .map(|(name, field)| {
                    let optional = if required.contains(&name.as_str()) {
                        ""
                    } else {
                        "?"
                    };
                    format!("{name}{optional}: {}", type_of(field))
                })
                .collect();
            format!("{{{}}}", fields.join(", "))
        }
        _ => match schema.get("additionalProperties") {
            Some(values @ Value::Object(_)) => format!("{{[key]: {}}}", type_of(values)),
            _ => "object".to_owned(),
        },
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn schemas_read_as_short_types() {
        let cases = [
            (json!({"type": "integer", "format": "int64"}), "integer"),
            (json!({"type": ["string", "null"]}), "string | null"),
            (json!({"$ref": "#/components/schemas/Point"}), "Point"),
            (
                json!({"type": "array", "items": {"type": "number"}}),
                "number[]",
            ),
            (
                json!({"type": "array", "items": {"type": ["number", "null"]}}),
                "(number | null)[]",
            ),
            (
                json!({"type": "array", "items": [{"type": "integer"}, {"type": "string"}]}),
                "[integer, string]",
            ),
            (json!({"enum": ["a", "b"]}), r#""a" | "b""#),
            (
                json!({"anyOf": [{"$ref": "#/x/A"}, {"type": "null"}]}),
                "A | null",
            ),
            (
                json!({"type": "object", "properties": {"x": {"type": "number"}, "y": {"type": "number"}}, "required": ["x"]}),
                "{x: number, y?: number}",
            ),
            (
                json!({"type": "object", "additionalProperties": {"type": "integer"}}),
                "{[key]: integer}",
            ),
            (json!(true), "any"),
            (json!({}), "any"),
        ];
        for (schema, expected) in cases {
            assert_eq!(type_of(&schema), expected, "{schema}");
        }
    }

    #[test]
    fn control_characters_from_the_server_are_not_printed() {
        let doc = json!({"info": {"title": "evil\u{1b}]0;owned\u{7}"}, "methods": []});
        assert_eq!(render(&doc), "evil]0;owned : 0 methods\n");
    }

    #[test]
    fn methods_read_as_signatures_with_their_docs() {
        let doc = json!({
            "openrpc": "1.2.6",
            "info": {"title": "Calculator", "version": "0.1.0"},
            "methods": [
                {
                    "name": "subtract",
                    "summary": "Subtracts `subtrahend` from `minuend`.",
                    "params": [
                        {"name": "minuend", "required": true, "schema": {"type": "integer"}},
                        {"name": "subtrahend", "required": false, "schema": {"type": "integer"}}
                    ],
                    "result": {"name": "result", "required": true, "schema": {"type": "integer"}}
                },
                {
                    "name": "log",
                    "params": [{"name": "line", "required": true, "schema": {"type": "string"}}],
                    "result": {"name": "result", "required": true, "schema": {"type": "null"}},
                    "x-notification": true
                }
            ]
        });
        assert_eq!(
            render(&doc),
            "Calculator 0.1.0: 2 methods\n\n  \
             subtract(minuend: integer, subtrahend?: integer) -> integer\n      \
             Subtracts `subtrahend` from `minuend`.\n\n  \
             log(line: string)  [notification]\n"
        );
    }
}
