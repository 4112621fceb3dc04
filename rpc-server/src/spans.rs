//! The spans around a WebSocket connection (`rpc_connection`) and an HTTP
//! request (`rpc_request`), at debug; the engine's `rpc_call` spans run
//! inside them. Each is made once its connection id and headers are known,
//! so that with the `opentelemetry` feature the caller's W3C `traceparent`
//! (from the handshake or the request) becomes its OpenTelemetry parent
//! before it is first entered, as `tracing-opentelemetry` requires: the
//! calls then join the caller's distributed trace.

use std::net::SocketAddr;

use http::HeaderMap;
use rpc_core::ConnectionInfo;
use tracing::Span;

/// The span a WebSocket connection runs in, after its handshake.
pub(crate) fn connection(info: &ConnectionInfo) -> Span {
    let span = tracing::debug_span!(
        "rpc_connection",
        connection = %info.id(),
        transport = "websocket",
        remote = ?info.remote_addr(),
    );
    adopt(&span, info.headers());
    span
}

/// The span one plain HTTP request is answered in.
pub(crate) fn request(remote: SocketAddr, headers: &HeaderMap) -> Span {
    let span = tracing::debug_span!("rpc_request", transport = "http", %remote);
    adopt(&span, headers);
    span
}

/// Makes the caller's trace context the OpenTelemetry parent of `span`.
#[cfg_attr(not(feature = "opentelemetry"), allow(unused_variables))]
fn adopt(span: &Span, headers: &HeaderMap) {
    #[cfg(feature = "opentelemetry")]
    if !span.is_disabled() {
        use tracing_opentelemetry::OpenTelemetrySpanExt as _;
        if let Some(parent) = rpc_core::log::traceparent(headers).and_then(remote_context) {
            // Fails only without an OpenTelemetry layer: nothing to join.
            let _ = span.set_parent(parent);
        }
    }
}

/// The remote span a valid `traceparent` names, as an OpenTelemetry context.
#[cfg(feature = "opentelemetry")]
fn remote_context(traceparent: &str) -> Option<opentelemetry::Context> {
    use opentelemetry::trace::{
        SpanContext, SpanId, TraceContextExt as _, TraceFlags, TraceId, TraceState,
    };
    let mut parts = traceparent.split('-').skip(1);
    let trace_id = TraceId::from_hex(parts.next()?).ok()?;
    let span_id = SpanId::from_hex(parts.next()?).ok()?;
    let flags = TraceFlags::new(u8::from_str_radix(parts.next()?, 16).ok()?);
    let remote = SpanContext::new(trace_id, span_id, flags, true, TraceState::default());
    Some(opentelemetry::Context::new().with_remote_span_context(remote))
}
