//! The OpenRPC document: the API description `rpc.discover` answers with.

use schemars::Schema;
use schemars::generate::{SchemaGenerator, SchemaSettings};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::describe::metadata::MethodInfo;
use crate::wire::error::ErrorCode;

/// The OpenRPC version of the documents built here: 1.2.6, the version the
/// ecosystem's tools read (`@open-rpc/generator`'s clients type documents
/// as 1.2.x), in the shape 1.3 readers accept too.
pub const OPENRPC_VERSION: &str = "1.2.6";

/// An [OpenRPC](https://spec.open-rpc.org/) document describing a service:
/// every method with its parameters and result as JSON Schemas (draft-07),
/// shared definitions under `#/components/schemas`.
///
/// `#[rpc_service]` builds one per service, once, from the services's
/// [`MethodInfo`]; the server answers `rpc.discover` with it.
///
/// ```
/// use rpc_core::{MethodInfo, OpenRpc, OpenRpcInfo, ParamInfo, schema_for};
///
/// static PARAMS: [ParamInfo; 2] = [
///     ParamInfo::new("minuend", "i64", true, schema_for::<i64>),
///     ParamInfo::new("subtrahend", "i64", true, schema_for::<i64>),
/// ];
/// static METHODS: [MethodInfo; 1] =
///     [MethodInfo::new("subtract").with_params(&PARAMS).with_result(schema_for::<i64>)];
///
/// let doc = OpenRpc::build(OpenRpcInfo::new("calculator", "1.0.0"), &METHODS);
/// let json = serde_json::to_value(&doc).unwrap();
/// assert_eq!(json["openrpc"], "1.2.6");
/// assert_eq!(json["methods"][0]["params"][1]["name"], "subtrahend");
/// assert_eq!(json["methods"][0]["result"]["schema"]["type"], "integer");
/// ```
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct OpenRpc {
    /// The OpenRPC version, [`OPENRPC_VERSION`].
    pub openrpc: &'static str,
    /// The service's title, version and description.
    pub info: OpenRpcInfo,
    /// Every method.
    pub methods: Vec<OpenRpcMethod>,
    /// Shared schema definitions.
    pub components: Components,
}

/// The `info` object of an OpenRPC document.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct OpenRpcInfo {
    /// The service's title.
    pub title: String,
    /// The service's version.
    pub version: String,
    /// What the service does.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

impl OpenRpcInfo {
    /// Info with a title and a version.
    pub fn new(title: impl Into<String>, version: impl Into<String>) -> Self {
        Self {
            title: title.into(),
            version: version.into(),
            description: None,
        }
    }

    /// Sets the description; an empty one is left out.
    #[must_use]
    pub fn with_description(mut self, description: &str) -> Self {
        let description = description.trim();
        self.description = (!description.is_empty()).then(|| description.to_owned());
        self
    }
}

/// One method in an OpenRPC document.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct OpenRpcMethod {
    /// The name on the wire.
    pub name: String,
    /// The first line of the method's documentation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    /// The method's whole documentation, when it is longer than the summary.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The parameters, in positional order.
    pub params: Vec<ContentDescriptor>,
    /// The result. OpenRPC 1.2 requires one even for a notification, which
    /// gets `null` (what calling it with an id answers) and
    /// [`notification`](Self::notification).
    pub result: ContentDescriptor,
    /// Params may be sent by position or by name: always `"either"` here.
    pub param_structure: &'static str,
    /// The errors the framework may answer the method with.
    pub errors: Vec<ErrorObject>,
    /// Whether the method is deprecated.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub deprecated: bool,
    /// Whether the method is meant to be sent as a notification (no id, no
    /// answer), as the extension `x-notification` (OpenRPC 1.2 has no word
    /// for it).
    #[serde(rename = "x-notification", skip_serializing_if = "std::ops::Not::not")]
    pub notification: bool,
    /// For a subscription method (whose result is the subscription's id):
    /// its notifications and its unsubscribe method, as the extension
    /// `x-subscription` (OpenRPC has no word for server pushes).
    #[serde(rename = "x-subscription", skip_serializing_if = "Option::is_none")]
    pub subscription: Option<OpenRpcSubscription>,
}

/// The `x-subscription` extension of a subscription method.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct OpenRpcSubscription {
    /// The method name of its notifications, whose params are
    /// `{"subscription": <id>, "result": <item>}`.
    pub notification: String,
    /// The method that ends it, given the id.
    pub unsubscribe: String,
    /// The schema of each item.
    pub item: Value,
}

/// A named schema: a parameter or a result.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct ContentDescriptor {
    /// The parameter's name, or `"result"`.
    pub name: String,
    /// Whether it must be present.
    pub required: bool,
    /// Its JSON Schema (draft-07).
    pub schema: Value,
}

/// An error a method may return.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct ErrorObject {
    /// The error code.
    pub code: i32,
    /// Its message.
    pub message: String,
}

impl From<ErrorCode> for ErrorObject {
    fn from(code: ErrorCode) -> Self {
        Self {
            code: code.code(),
            message: code.message().to_owned(),
        }
    }
}

/// The `components` object: schema definitions shared by several methods.
#[derive(Debug, Clone, Default, Serialize)]
#[non_exhaustive]
pub struct Components {
    /// Definitions, referenced as `#/components/schemas/<name>`.
    pub schemas: Map<String, Value>,
}

impl OpenRpc {
    /// Builds the document for `methods`.
    pub fn build(info: OpenRpcInfo, methods: &[MethodInfo]) -> Self {
        let mut generator = SchemaSettings::draft07()
            .with(|s| {
                s.definitions_path = "/components/schemas".into();
                s.meta_schema = None;
            })
            .with_transform(ranges_for_numeric_formats as fn(&mut Schema))
            .into_generator();
        let methods = methods
            .iter()
            .map(|method| describe_method(&mut generator, method))
            .collect();
        let schemas = generator.take_definitions(true);
        Self {
            openrpc: OPENRPC_VERSION,
            info,
            methods,
            components: Components { schemas },
        }
    }

    /// A copy with only the methods for which `keep` returns true (used to
    /// hide what a connection may not call).
    pub fn filtered(&self, mut keep: impl FnMut(&str) -> bool) -> Self {
        let mut doc = self.clone();
        doc.methods.retain(|method| keep(&method.name));
        doc
    }
}

fn describe_method(generator: &mut SchemaGenerator, method: &MethodInfo) -> OpenRpcMethod {
    let params: Vec<_> = method
        .params
        .iter()
        .map(|param| ContentDescriptor {
            name: param.name.to_owned(),
            required: param.required,
            schema: schema(generator, param.schema),
        })
        .collect();
    let result = ContentDescriptor {
        name: "result".to_owned(),
        required: true,
        schema: match method.result {
            Some(result) if !method.notification => schema(generator, result),
            _ => serde_json::json!({"type": "null"}),
        },
    };
    let mut errors = vec![];
    if !params.is_empty() || method.raw_params {
        errors.push(ErrorCode::INVALID_PARAMS.into());
    }
    errors.extend(
        [
            ErrorCode::INTERNAL_ERROR,
            ErrorCode::REQUEST_TOO_LARGE,
            ErrorCode::REQUEST_TIMEOUT,
            ErrorCode::SERVER_OVERLOADED,
        ]
        .map(ErrorObject::from),
    );
    let subscription = method.subscription.map(|sub| OpenRpcSubscription {
        notification: sub.notification.to_owned(),
        unsubscribe: sub.unsubscribe.to_owned(),
        item: schema(generator, sub.item),
    });
    let docs = method.docs.trim();
    let summary = docs.lines().next().map(str::trim).filter(|s| !s.is_empty());
    let description = (docs.lines().count() > 1).then(|| docs.to_owned());
    OpenRpcMethod {
        name: method.name.to_owned(),
        summary: summary.map(str::to_owned),
        description,
        params,
        result,
        param_structure: "either",
        errors,
        deprecated: method.deprecated,
        notification: method.notification,
        subscription,
    }
}

/// schemars writes Rust's numeric types as formats (`int64`, `uint8`,
/// `double`) that JSON Schema does not define, and strict validators (ajv,
/// in the TypeScript clients `@open-rpc/generator` makes) refuse a schema
/// with an unknown format. The range is said with `minimum` and `maximum`
/// instead, which every validator knows.
fn ranges_for_numeric_formats(schema: &mut Schema) {
    if let Some(object) = schema.as_object_mut() {
        let range = object
            .get("format")
            .and_then(Value::as_str)
            .and_then(numeric_range);
        if let Some((minimum, maximum)) = range {
            object.remove("format");
            for (key, bound) in [("minimum", minimum), ("maximum", maximum)] {
                if let Some(bound) = bound {
                    object.entry(key).or_insert(bound);
                }
            }
        }
    }
    schemars::transform::transform_subschemas(&mut ranges_for_numeric_formats, schema);
}

/// The bounds of one of schemars' numeric formats; `None` for another
/// format (`date-time`, `uuid`, …), which stays.
fn numeric_range(format: &str) -> Option<(Option<Value>, Option<Value>)> {
    let signed = |min: i64, max: i64| Some((Some(min.into()), Some(max.into())));
    let unsigned = |max: u64| Some((Some(0.into()), Some(max.into())));
    match format {
        "int8" => signed(i8::MIN.into(), i8::MAX.into()),
        "int16" => signed(i16::MIN.into(), i16::MAX.into()),
        "int32" => signed(i32::MIN.into(), i32::MAX.into()),
        "int64" => signed(i64::MIN, i64::MAX),
        "uint8" => unsigned(u8::MAX.into()),
        "uint16" => unsigned(u16::MAX.into()),
        "uint32" => unsigned(u32::MAX.into()),
        "uint64" => unsigned(u64::MAX),
        // usize, u128: at least 0; isize, i128, floats: no bound to add.
        "uint" | "uint128" => Some((Some(0.into()), None)),
        "int" | "int128" | "float" | "double" => Some((None, None)),
        _ => None,
    }
}

fn schema(
    generator: &mut SchemaGenerator,
    schema_fn: crate::describe::metadata::SchemaFn,
) -> Value {
    let mut schema: Schema = schema_fn(generator);
    for transform in generator.transforms_mut() {
        transform.transform(&mut schema);
    }
    schema.to_value()
}
