//! The OpenRPC document of a service with structs, enums, options, vectors
//! and nested types: its structure checked here, and the document run
//! through the official validator (`@open-rpc/schema-utils-js`) when node
//! and the package are installed (`.ci/run` installs them).

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use rpc_server::connect::{ConnectionInfo, Permissions};
use rpc_server::service::Service;
use rpc_server::{RpcContext, RpcError, rpc_service};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::sync::Arc;

use crate::common;

/// A point on the plane.
#[derive(Serialize, Deserialize, JsonSchema)]
struct Point {
    x: f64,
    y: f64,
}

#[derive(Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum Shape {
    Circle { center: Point, radius: f64 },
    Polygon { corners: Vec<Point> },
}

#[derive(Serialize, Deserialize, JsonSchema)]
enum Color {
    Red,
    Green,
    Rgb(u8, u8, u8),
}

#[derive(Serialize, Deserialize, JsonSchema)]
struct Drawing {
    title: Option<String>,
    shapes: Vec<Shape>,
    color: Color,
    tags: BTreeMap<String, Vec<String>>,
}

#[derive(Serialize, JsonSchema)]
struct Summary {
    shapes: usize,
    area: f64,
    largest: Option<Shape>,
}

struct Canvas;

/// Draws shapes.
#[rpc_service(title = "Canvas", version = "1.2.3")]
impl Canvas {
    /// Renders a drawing.
    ///
    /// Returns what was drawn.
    fn render(&self, drawing: Drawing, scale: Option<f64>) -> Result<Summary, RpcError> {
        let _ = (drawing, scale);
        Err(RpcError::application("not implemented"))
    }

    #[rpc(
        name = "shapes.move",
        timeout = "2s",
        permission = "shapes.write",
        permission = "admin"
    )]
    async fn move_shape(&self, shape: Shape, by: Point, ctx: &RpcContext) -> Shape {
        let _ = (by, ctx);
        shape
    }

    #[deprecated = "use render"]
    fn paint(&self, colors: Vec<Color>) -> Vec<Color> {
        colors
    }

    #[rpc(notification)]
    fn clear(&self, reason: Option<String>) {
        let _ = reason;
    }

    fn count(&self) -> u64 {
        0
    }

    /// Sends every shape drawn from now on.
    #[rpc(subscription = "shapes.drawn", unsubscribe = "unwatch")]
    fn watch(
        &self,
        color: Option<Color>,
    ) -> impl futures_util::Stream<Item = Shape> + Send + 'static {
        let _ = color;
        futures_util::stream::empty()
    }
}

fn document() -> Value {
    serde_json::to_value(
        Canvas
            .openrpc()
            .expect("generated services have a document"),
    )
    .expect("the document serializes")
}

#[test]
fn document_structure() {
    let doc = document();
    assert_eq!(doc["openrpc"], "1.2.6");
    assert_eq!(
        doc["info"],
        json!({"title": "Canvas", "version": "1.2.3", "description": "Draws shapes."})
    );
    let names: Vec<_> = doc["methods"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "render",
            "shapes.move",
            "paint",
            "clear",
            "count",
            "watch",
            "unwatch"
        ]
    );

    let render = &doc["methods"][0];
    assert_eq!(render["summary"], "Renders a drawing.");
    assert_eq!(
        render["description"],
        "Renders a drawing.\n\nReturns what was drawn."
    );
    assert_eq!(render["paramStructure"], "either");
    assert_eq!(render["params"][0]["name"], "drawing");
    assert_eq!(render["params"][0]["required"], true);
    assert_eq!(
        render["params"][0]["schema"]["$ref"],
        "#/components/schemas/Drawing"
    );
    assert_eq!(render["params"][1]["name"], "scale");
    assert_eq!(render["params"][1]["required"], false);
    assert_eq!(
        render["result"]["schema"]["$ref"],
        "#/components/schemas/Summary"
    );
    let codes: Vec<_> = render["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["code"].as_i64().unwrap())
        .collect();
    assert!(
        codes.contains(&-32602) && codes.contains(&-32603),
        "{codes:?}"
    );

    // The injected context is not a parameter.
    let moved = &doc["methods"][1];
    let params: Vec<_> = moved["params"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(params, ["shape", "by"]);

    assert_eq!(doc["methods"][2]["deprecated"], true);
    // OpenRPC 1.2 has no notifications: a null result (calling it with an
    // id is answered with null), and the extension says what it is.
    assert_eq!(
        doc["methods"][3]["result"]["schema"],
        json!({"type": "null"})
    );
    assert_eq!(doc["methods"][3]["x-notification"], true);
    assert!(doc["methods"][2].get("x-notification").is_none());
    assert_eq!(doc["methods"][4]["params"], json!([]));
    assert_eq!(doc["methods"][4]["result"]["schema"]["type"], "integer");

    // A subscription: its result is the subscription's id, and the
    // extension says what it sends and how it ends.
    let watch = &doc["methods"][5];
    assert_eq!(watch["result"]["schema"]["type"], "string");
    assert_eq!(watch["x-subscription"]["notification"], "shapes.drawn");
    assert_eq!(watch["x-subscription"]["unsubscribe"], "unwatch");
    assert_eq!(
        watch["x-subscription"]["item"]["$ref"],
        "#/components/schemas/Shape"
    );
    let unwatch = &doc["methods"][6];
    assert_eq!(unwatch["params"][0]["name"], "subscription");
    assert_eq!(unwatch["params"][0]["schema"]["type"], "string");
    assert_eq!(unwatch["result"]["schema"]["type"], "boolean");
}

#[test]
fn every_ref_resolves_within_the_document() {
    let doc = document();
    let schemas = doc["components"]["schemas"]
        .as_object()
        .expect("components.schemas");
    for name in ["Drawing", "Shape", "Point", "Color", "Summary"] {
        assert!(schemas.contains_key(name), "{name} is defined");
    }
    let mut refs = vec![];
    collect_refs(&doc, &mut refs);
    assert!(!refs.is_empty());
    for reference in refs {
        let name = reference
            .strip_prefix("#/components/schemas/")
            .unwrap_or_else(|| panic!("unexpected $ref {reference}"));
        assert!(schemas.contains_key(name), "dangling $ref {reference}");
    }
}

#[test]
fn schemas_are_draft_07() {
    let text = serde_json::to_string(&document()).unwrap();
    for later_keyword in [
        "$defs",
        "prefixItems",
        "unevaluatedProperties",
        "$dynamicRef",
    ] {
        assert!(
            !text.contains(later_keyword),
            "draft-07 has no {later_keyword}"
        );
    }
}

/// Every `format` in the document, and every schema with one.
fn formats(value: &Value, found: &mut Vec<String>) {
    match value {
        Value::Object(object) => {
            if let Some(Value::String(format)) = object.get("format") {
                found.push(format.clone());
            }
            object.values().for_each(|v| formats(v, found));
        }
        Value::Array(items) => items.iter().for_each(|v| formats(v, found)),
        _ => {}
    }
}

#[test]
fn numeric_types_are_ranges_not_formats_json_schema_lacks() {
    // ajv (in @open-rpc/generator's clients) refuses `int64`, `uint8`,
    // `double`: JSON Schema defines no such format.
    let doc = document();
    let mut found = Vec::new();
    formats(&doc, &mut found);
    assert_eq!(found, Vec::<String>::new());
    let rgb = serde_json::to_string(&doc["components"]["schemas"]["Color"]).unwrap();
    assert!(
        rgb.contains(r#""maximum":255"#) && rgb.contains(r#""minimum":0"#),
        "u8 is 0..=255: {rgb}"
    );
    let count = doc["methods"]
        .as_array()
        .unwrap()
        .iter()
        .find(|method| method["name"] == "count")
        .map(|method| &method["result"]["schema"])
        .unwrap();
    assert_eq!(count["minimum"], 0, "u64: {count}");
    assert_eq!(count["maximum"], u64::MAX, "u64: {count}");
}

#[test]
fn rpc_discover_lists_only_what_the_connection_may_call() {
    let reply = common::call(&Canvas, "rpc.discover", None);
    let names: Vec<_> = reply["result"]["methods"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["render", "paint", "clear", "count", "watch", "unwatch"],
        "shapes.move needs permissions"
    );

    let granted =
        ConnectionInfo::new().with_permissions(Permissions::from_iter(["shapes.write", "admin"]));
    let reply = common::handle_on(
        &Canvas,
        r#"{"jsonrpc":"2.0","method":"rpc.discover","id":1}"#,
        Arc::new(granted),
    )
    .unwrap();
    let reply: Value = serde_json::from_str(&reply).unwrap();
    assert_eq!(reply["result"], document());
}

#[test]
fn metadata_describes_every_method() {
    let methods = Canvas.methods();
    assert_eq!(
        methods.len(),
        7,
        "the subscription's unsubscribe method included"
    );
    let watch = Canvas.method("watch").unwrap().subscription.unwrap();
    assert_eq!(
        (watch.notification, watch.unsubscribe),
        ("shapes.drawn", "unwatch")
    );
    let moved = Canvas.method("shapes.move").expect("lookup by wire name");
    assert_eq!(moved.permissions, ["shapes.write", "admin"]);
    assert_eq!(moved.timeout, Some(std::time::Duration::from_secs(2)));
    assert_eq!(moved.params.len(), 2);
    assert_eq!(moved.params[1].type_name, "Point");
    let render = Canvas.method("render").unwrap();
    assert_eq!(render.params[1].type_name, "Option<f64>");
    assert!(!render.params[1].required);
    assert_eq!(render.docs, "Renders a drawing.\n\nReturns what was drawn.");
    assert!(Canvas.method("clear").unwrap().notification);
    assert!(Canvas.method("paint").unwrap().deprecated);
    assert!(Canvas.method("move_shape").is_none());
}

fn collect_refs<'a>(value: &'a Value, refs: &mut Vec<&'a str>) {
    match value {
        Value::Object(map) => {
            for (key, value) in map {
                match (key.as_str(), value) {
                    ("$ref", Value::String(reference)) => refs.push(reference),
                    _ => collect_refs(value, refs),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| collect_refs(item, refs)),
        _ => {}
    }
}

/// Runs the official validator on the document. Without node or the
/// package this test says so on the terminal and passes, unless
/// `RPC_REQUIRE_OPENRPC_VALIDATOR` is set (as `.ci/run` does).
#[test]
fn document_passes_the_official_openrpc_validator() {
    let validator = Path::new(env!("CARGO_MANIFEST_DIR")).join("openrpc-validator");
    let installed = validator
        .join("node_modules/@open-rpc/schema-utils-js")
        .is_dir();
    let node = Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !(installed && node) {
        let why = if node {
            "the validator package is not installed"
        } else {
            "node is not installed"
        };
        assert!(
            std::env::var_os("RPC_REQUIRE_OPENRPC_VALIDATOR").is_none(),
            "the OpenRPC validator is required but {why}"
        );
        // Straight to the terminal: the test harness captures `eprintln!`.
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED document_passes_the_official_openrpc_validator: {why} (run `npm ci` in {})",
            validator.display()
        );
        return;
    }
    let path = temp_file("canvas.openrpc.json");
    std::fs::write(&path, serde_json::to_vec_pretty(&document()).unwrap()).unwrap();
    let output = Command::new("node")
        .arg(validator.join("validate.mjs"))
        .arg(&path)
        .output()
        .expect("node runs");
    assert!(
        output.status.success(),
        "the validator rejected the document:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

fn temp_file(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("rpc-tests-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}
