//! The `tracing` span each call runs in: `rpc_call`, at debug, with the
//! method, the id, the connection and its transport, the caller's W3C
//! `traceparent` when its handshake or request carried one, and, once the
//! call ends, its outcome (none if it was dropped unfinished: the hooks'
//! `call_cancelled`). Its duration is the span's own, from opening to
//! closing, as every subscriber that times spans reports it (fmt's span
//! events, OpenTelemetry). When nothing listens at debug the span is
//! disabled and none of this is read.
//!
//! It holds nothing but the span, and the engine holds nothing but it
//! across a call: a call's future is boxed, and growing it by an `Instant`,
//! or by a second reference to the span, took its allocation off the
//! allocator's fast path (callgrind: 280 to 430 more instructions a call).

use tracing::Span;
use tracing::field::{Empty, display};

use crate::connection::ConnectionInfo;
use crate::connection::transport::Transport;
use crate::wire::id::Id;
use crate::wire::response::MethodResult;

/// A call's span.
pub(crate) struct CallSpan {
    span: Span,
}

impl CallSpan {
    pub(crate) fn new(method: &str, id: Option<Id<'_>>, connection: &ConnectionInfo) -> Self {
        let span = tracing::debug_span!(
            "rpc_call",
            method,
            id = id.map(|id| id.as_raw()),
            connection = Empty,
            transport = Empty,
            traceparent = Empty,
            outcome = Empty,
        );
        if !span.is_disabled() {
            span.record("connection", display(connection.id()));
            span.record("transport", transport_name(connection.transport()));
            if let Some(traceparent) = traceparent(connection.headers()) {
                span.record("traceparent", traceparent);
            }
        }
        Self { span }
    }

    pub(crate) fn span(&self) -> &Span {
        &self.span
    }

    /// Records how the call ended: `ok`, or the error's code.
    pub(crate) fn finish(&self, result: &MethodResult) {
        if self.span.is_disabled() {
            return;
        }
        match result {
            Ok(_) => self.span.record("outcome", "ok"),
            Err(error) => self.span.record("outcome", error.code().code()),
        };
    }
}

fn transport_name(transport: Transport) -> &'static str {
    match transport {
        Transport::WebSocket => "websocket",
        Transport::Http => "http",
        _ => "memory",
    }
}

/// The `traceparent` header of `headers` if it is a valid W3C trace context
/// (version 00: `00-<32 hex trace id>-<16 hex parent id>-<2 hex flags>`,
/// ids not all zeros); `None` for anything else, which the specification
/// asks to ignore.
pub fn traceparent(headers: &http::HeaderMap) -> Option<&str> {
    let value = headers.get("traceparent")?.to_str().ok()?;
    is_traceparent(value).then_some(value)
}

fn is_traceparent(value: &str) -> bool {
    let parts: Vec<&str> = value.split('-').collect();
    let hex = |part: &str, len: usize| {
        part.len() == len && part.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    };
    let nonzero = |part: &str| part.bytes().any(|b| b != b'0');
    matches!(parts.as_slice(), [version, trace, parent, flags]
        if *version == "00" && hex(trace, 32) && nonzero(trace)
            && hex(parent, 16) && nonzero(parent) && hex(flags, 2))
}

#[cfg(test)]
mod tests {
    use super::is_traceparent;

    #[test]
    fn only_a_valid_trace_context_is_taken() {
        assert!(is_traceparent(
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
        ));
        for invalid in [
            "",
            "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
        ] {
            assert!(!is_traceparent(invalid), "{invalid:?}");
        }
    }
}
