//! The transport-independent entry point: one frame in, zero or one reply out.

use std::any::Any;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;

use futures_util::FutureExt as _;
use futures_util::future::join_all;

use crate::batch::{self, SplitError};
use crate::context::ConnectionInfo;
use crate::error::RpcError;
use crate::id::Id;
use crate::limits::{LimitExceeded, Limits};
use crate::request::{self, Rejected};
use crate::response::{self, Reply};
use crate::service::{Call, MethodResult, SerializedResult, Service};

/// The JSON-RPC 2.0 protocol engine. Every transport hands each incoming
/// frame to [`Protocol::handle`] (or [`Protocol::handle_bytes`]) and sends
/// back the reply, if there is one, so each protocol rule lives here once.
///
/// It checks the frame's size before parsing, parses and validates it, splits
/// batches and runs their elements concurrently, enforces the [`Limits`],
/// calls the [`Service`], turns a panicking method into INTERNAL_ERROR, and
/// sanitizes errors (an [`RpcError::internal`] detail is logged, not sent).
///
/// ```
/// use rpc_core::{Call, ConnectionInfo, MethodFuture, Protocol, RpcError, Service};
///
/// struct Echo;
/// impl Service for Echo {
///     fn call<'a>(&'a self, call: Call<'a>) -> MethodFuture<'a> {
///         match call.method {
///             "echo" => match call.params.parse::<(String,)>() {
///                 Ok((text,)) => MethodFuture::ok(&text),
///                 Err(err) => MethodFuture::err(err),
///             },
///             _ => MethodFuture::err(RpcError::method_not_found()),
///         }
///     }
/// }
///
/// let protocol = Protocol::new();
/// let connection = ConnectionInfo::detached();
/// let frame = r#"{"jsonrpc":"2.0","method":"echo","params":["hi"],"id":1}"#;
/// let reply = futures_executor::block_on(protocol.handle(&Echo, frame, &connection));
/// assert_eq!(reply.unwrap().as_str(), r#"{"jsonrpc":"2.0","result":"hi","id":1}"#);
///
/// // A notification gets no reply, even when it fails.
/// let frame = r#"{"jsonrpc":"2.0","method":"nope"}"#;
/// assert!(futures_executor::block_on(protocol.handle(&Echo, frame, &connection)).is_none());
/// ```
#[derive(Debug, Clone, Default)]
pub struct Protocol {
    limits: Limits,
    expose_internal_errors: bool,
}

impl Protocol {
    /// The protocol with default [`Limits`] and sanitized errors.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the limits.
    #[must_use]
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// A development switch: when on, the detail of a sanitized error (an
    /// [`RpcError::internal`], a panic's message) is sent to the client as
    /// the error's `data`. Off by default; never turn it on in production.
    #[must_use]
    pub fn expose_internal_errors(mut self, expose: bool) -> Self {
        self.expose_internal_errors = expose;
        self
    }

    /// The limits in force.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Handles one frame of bytes (a binary WebSocket frame, an HTTP body):
    /// like [`Protocol::handle`], and a frame that is not UTF-8 is a Parse
    /// error.
    pub async fn handle_bytes<S: Service + ?Sized>(
        &self,
        service: &S,
        message: &[u8],
        connection: &Arc<ConnectionInfo>,
    ) -> Option<Reply> {
        if let Some(reply) = self.check_size(message.len()) {
            return Some(reply);
        }
        match std::str::from_utf8(message) {
            Ok(text) => self.handle(service, text, connection).await,
            Err(err) => Some(Reply::from_bytes(response::error(
                &RpcError::parse_error(format_args!("message is not valid UTF-8: {err}")),
                Id::NULL,
            ))),
        }
    }

    /// Handles one frame of text: a request, a notification or a batch.
    /// Returns the reply frame, or `None` when nothing is to be sent (a
    /// notification, or a batch of only notifications).
    pub async fn handle<S: Service + ?Sized>(
        &self,
        service: &S,
        message: &str,
        connection: &Arc<ConnectionInfo>,
    ) -> Option<Reply> {
        if let Some(reply) = self.check_size(message.len()) {
            return Some(reply);
        }
        let is_batch = message
            .trim_start_matches([' ', '\t', '\n', '\r'])
            .starts_with('[');
        if is_batch {
            self.handle_batch(service, message, connection).await
        } else {
            let reply = self.handle_request(service, message, connection).await?;
            Some(Reply::from_bytes(reply))
        }
    }

    fn check_size(&self, len: usize) -> Option<Reply> {
        let max = self.limits.max_message_size;
        (len > max).then(|| {
            let error = RpcError::request_too_large(LimitExceeded::MessageSize(max));
            Reply::from_bytes(response::error(&error, Id::NULL))
        })
    }

    async fn handle_batch<S: Service + ?Sized>(
        &self,
        service: &S,
        message: &str,
        connection: &Arc<ConnectionInfo>,
    ) -> Option<Reply> {
        let max = self.limits.max_batch_size;
        let elements = match batch::split(message, max) {
            Ok(elements) => elements,
            Err(SplitError::Syntax(err)) => return Some(lone_error(&RpcError::parse_error(err))),
            Err(SplitError::TooLarge) => {
                let error = RpcError::request_too_large(LimitExceeded::BatchSize(max));
                return Some(lone_error(&error));
            }
        };
        if elements.is_empty() {
            return Some(lone_error(&RpcError::invalid_request("the batch is empty")));
        }
        let replies = join_all(
            elements
                .iter()
                .map(|element| self.handle_request(service, element.get(), connection)),
        )
        .await;
        let mut replies = replies.into_iter().flatten().peekable();
        // A batch of only notifications gets no reply at all, not `[]`.
        replies.peek()?;
        Some(Reply::from_bytes(response::batch(replies)))
    }

    /// Handles one request object: a whole message or one batch element.
    async fn handle_request<S: Service + ?Sized>(
        &self,
        service: &S,
        json: &str,
        connection: &Arc<ConnectionInfo>,
    ) -> Option<Vec<u8>> {
        let request = match request::parse(json, &self.limits) {
            Ok(request) => request,
            Err(Rejected {
                id: Some(id),
                error,
            }) => return Some(self.error(error, id, None)),
            Err(Rejected { id: None, error }) => {
                tracing::debug!(%error, "notification rejected; no reply is sent");
                return None;
            }
        };
        let method = &*request.method;
        let call = Call::new(method, request.params, request.id, connection);
        let result = run(service, call).await;
        let Some(id) = request.id else {
            if let Err(error) = result {
                log_error(&error, method);
            }
            return None;
        };
        Some(match result {
            Ok(result) => response::success(result, id),
            Err(error) => self.error(error, id, Some(method)),
        })
    }

    fn error(&self, error: RpcError, id: Id<'_>, method: Option<&str>) -> Vec<u8> {
        if let Some(method) = method {
            log_error(&error, method);
        }
        if self.expose_internal_errors {
            response::error(&error.expose_detail(), id)
        } else {
            response::error(&error, id)
        }
    }
}

/// A reply that is a single error with id null (a whole-message failure).
fn lone_error(error: &RpcError) -> Reply {
    Reply::from_bytes(response::error(error, Id::NULL))
}

/// The method the framework answers itself: the service's OpenRPC document.
const DISCOVER: &str = "rpc.discover";

/// Runs one call, turning a panic (while dispatching or while running) into
/// INTERNAL_ERROR.
async fn run<S: Service + ?Sized>(service: &S, call: Call<'_>) -> MethodResult {
    if call.method == DISCOVER {
        return match service.openrpc() {
            Some(doc) => SerializedResult::new(doc),
            None => Err(RpcError::method_not_found()),
        };
    }
    let future = match catch_unwind(AssertUnwindSafe(|| service.call(call))) {
        Ok(future) => future,
        Err(panic) => return Err(panicked(call.method, &*panic)),
    };
    match AssertUnwindSafe(future).catch_unwind().await {
        Ok(result) => result,
        Err(panic) => Err(panicked(call.method, &*panic)),
    }
}

fn panicked(method: &str, panic: &(dyn Any + Send)) -> RpcError {
    let message = panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(a panic payload that is not a string)");
    RpcError::internal(format_args!("method `{method}` panicked: {message}"))
}

/// Sanitized errors are logged with their detail; others are the method's
/// deliberate answer and are only traced.
fn log_error(error: &RpcError, method: &str) {
    match error.detail() {
        Some(detail) => tracing::error!(method, code = error.code().code(), detail, "call failed"),
        None => tracing::debug!(
            method,
            code = error.code().code(),
            message = error.message(),
            "call returned an error"
        ),
    }
}
