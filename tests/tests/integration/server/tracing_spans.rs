//! The spans a server opens, as a subscriber sees them: one per WebSocket
//! connection and one per HTTP request, one per call inside them, with the caller's `traceparent` and the outcome
//! recorded, and the call's span closed when it ends (its duration).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use rpc_server::{Server, rpc_service};
use serde_json::json;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing_subscriber::layer::{Context, SubscriberExt as _};
use tracing_subscriber::registry::LookupSpan;
use ws::{Client, within};

use crate::common::fixtures::LIMIT;
use crate::common::http;
use crate::common::ws;

struct Api;

#[rpc_service]
impl Api {
    async fn add(&self, a: i64, b: i64) -> i64 {
        a + b
    }
}

const TRACEPARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

/// A span as captured: its name, its fields, and its parent's name.
#[derive(Debug, Clone, Default)]
struct Captured {
    name: &'static str,
    fields: HashMap<String, String>,
    parent: Option<&'static str>,
}

#[derive(Clone, Default)]
struct Spans(Arc<Mutex<HashMap<u64, Captured>>>);

impl Spans {
    fn named(&self, name: &str) -> Vec<Captured> {
        let spans = self.0.lock().unwrap();
        let mut found: Vec<Captured> = spans.values().filter(|s| s.name == name).cloned().collect();
        found.sort_by_key(|s| s.fields.get("id").cloned());
        found
    }
}

struct Fields<'a>(&'a mut HashMap<String, String>);

impl Visit for Fields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }
}

impl<S: tracing::Subscriber + for<'a> LookupSpan<'a>> tracing_subscriber::Layer<S> for Spans {
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let mut captured = Captured {
            name: attrs.metadata().name(),
            ..Default::default()
        };
        attrs.record(&mut Fields(&mut captured.fields));
        captured.parent = ctx
            .span(id)
            .and_then(|span| span.parent())
            .map(|p| p.name());
        self.0.lock().unwrap().insert(id.into_u64(), captured);
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, _ctx: Context<'_, S>) {
        if let Some(captured) = self.0.lock().unwrap().get_mut(&id.into_u64()) {
            values.record(&mut Fields(&mut captured.fields));
        }
    }
}

// One thread: the server's tasks run where the subscriber is the default.
#[tokio::test(flavor = "current_thread")]
async fn calls_run_in_spans_that_carry_the_callers_trace() {
    let spans = Spans::default();
    let subscriber = tracing_subscriber::registry().with(spans.clone());
    let _default = tracing::subscriber::set_default(subscriber);
    within(LIMIT, async {
        let server = Server::builder().serve("127.0.0.1:0", Api).unwrap().spawn();
        let addr = server.local_addr();
        let mut client = Client::connect_with(addr, &[("traceparent", TRACEPARENT)]).await;
        assert_eq!(client.call("add", json!([1, 2]), 1).await["result"], 3);
        assert_eq!(
            client.call("nope", json!([]), 2).await["error"]["code"],
            -32601
        );
        let response = http::request(
            addr,
            "POST",
            "/",
            &[
                ("content-type", "application/json"),
                ("traceparent", "not a trace"),
            ],
            r#"{"jsonrpc":"2.0","method":"add","params":[2,2],"id":3}"#,
        )
        .await;
        assert_eq!(response.json()["result"], 4);
        drop(client);
        server.shutdown_and_wait().await;
    })
    .await;

    let connections = spans.named("rpc_connection");
    assert_eq!(connections.len(), 1, "{connections:#?}");
    let websocket = &connections[0];
    assert_eq!(websocket.fields["transport"], "websocket");
    let calls = spans.named("rpc_call");
    assert_eq!(calls.len(), 3, "{calls:#?}");
    let (ok, failed, http_call) = (&calls[0], &calls[1], &calls[2]);
    for (call, outcome) in [(ok, "ok"), (failed, "-32601")] {
        assert_eq!(call.parent, Some("rpc_connection"), "{call:#?}");
        assert_eq!(call.fields["transport"], "websocket");
        assert_eq!(call.fields["connection"], websocket.fields["connection"]);
        assert_eq!(call.fields["traceparent"], TRACEPARENT);
        assert_eq!(call.fields["outcome"], outcome);
    }
    assert_eq!(ok.fields["method"], "add");
    // An invalid trace context is ignored.
    assert_eq!(http_call.fields["transport"], "http");
    assert!(
        !http_call.fields.contains_key("traceparent"),
        "{http_call:#?}"
    );
    assert_eq!(http_call.parent, Some("rpc_request"));
    assert_eq!(spans.named("rpc_request").len(), 1);
}

/// With an OpenTelemetry layer (and the server's `opentelemetry` feature),
/// the call joins the caller's trace: its trace id is the caller's, and its
/// connection's parent is the caller's span.
#[tokio::test(flavor = "current_thread")]
async fn with_opentelemetry_a_call_joins_the_callers_trace() {
    use opentelemetry::trace::{SpanId, TraceId, TracerProvider as _};
    use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider};

    let exporter = InMemorySpanExporter::default();
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(exporter.clone())
        .build();
    let layer = tracing_opentelemetry::layer().with_tracer(provider.tracer("test"));
    let _default = tracing::subscriber::set_default(tracing_subscriber::registry().with(layer));
    within(LIMIT, async {
        let server = Server::builder().serve("127.0.0.1:0", Api).unwrap().spawn();
        let addr = server.local_addr();
        let mut client = Client::connect_with(addr, &[("traceparent", TRACEPARENT)]).await;
        assert_eq!(client.call("add", json!([1, 2]), 1).await["result"], 3);
        drop(client);
        let response = http::request(
            addr,
            "POST",
            "/",
            &[
                ("content-type", "application/json"),
                ("traceparent", TRACEPARENT),
            ],
            r#"{"jsonrpc":"2.0","method":"add","params":[2,2],"id":2}"#,
        )
        .await;
        assert_eq!(response.json()["result"], 4);
        server.shutdown_and_wait().await;
    })
    .await;
    provider.force_flush().unwrap();

    let spans = exporter.get_finished_spans().unwrap();
    let caller_trace = TraceId::from_hex("4bf92f3577b34da6a3ce929d0e0e4736").unwrap();
    let caller_span = SpanId::from_hex("00f067aa0ba902b7").unwrap();
    let named = |name: &'static str| spans.iter().filter(move |s| s.name == name);
    for outer in ["rpc_connection", "rpc_request"] {
        let outer = named(outer)
            .next()
            .unwrap_or_else(|| panic!("no {outer}: {spans:#?}"));
        assert_eq!(outer.span_context.trace_id(), caller_trace, "{outer:#?}");
        assert_eq!(outer.parent_span_id, caller_span);
        assert!(outer.parent_span_is_remote);
    }
    let calls: Vec<_> = named("rpc_call").collect();
    assert_eq!(calls.len(), 2, "{spans:#?}");
    for call in calls {
        assert_eq!(call.span_context.trace_id(), caller_trace, "{call:#?}");
        let parent = spans
            .iter()
            .find(|s| s.span_context.span_id() == call.parent_span_id)
            .expect("the call's parent was exported");
        assert!(
            ["rpc_connection", "rpc_request"].contains(&&*parent.name),
            "{parent:#?}"
        );
    }
}
