//! The transport-independent entry point: one frame in, zero or one reply out.

use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::future::join_all;
use tracing::Instrument as _;

use crate::connection::ConnectionInfo;
use crate::engine::call_slots::CallSlots;
use crate::engine::call_span::CallSpan;
use crate::engine::dispatch::{self, MethodEndpoint};
use crate::engine::failures::Failures;
use crate::engine::hooks::Hooks;
use crate::engine::middleware::{Middleware, Next};
use crate::engine::service::{Call, Service};
use crate::engine::timer::{NoTimer, Timer};
use crate::wire::batch::{self, SplitError};
use crate::wire::error::{ErrorCode, RpcError};
use crate::wire::id::Id;
use crate::wire::limits::{LimitExceeded, Limits};
use crate::wire::request::{self, Rejected, Request, Version};
use crate::wire::response::MethodResult;
use crate::wire::response::{self, Reply};

/// The JSON-RPC 2.0 protocol engine. Every transport hands each incoming
/// frame to [`Protocol::handle`] (or [`Protocol::handle_bytes`]) and sends
/// back the reply, if there is one, so each protocol rule lives here once.
///
/// It checks the frame's size before parsing, parses and validates it, splits
/// batches and runs their elements concurrently, enforces the [`Limits`],
/// answers `rpc.discover`, calls the [`Service`] under the method's timeout
/// (given a [`Timer`]), turns a panicking method into INTERNAL_ERROR, and
/// sanitizes errors (an [`RpcError::internal`] detail is logged, not sent).
/// Each call runs in a `tracing` span named `rpc_call` (debug) with its
/// method, id, connection, transport and the caller's W3C `traceparent`
/// (from the handshake's or the HTTP request's headers), and records its
/// `outcome` (`ok` or the error code) when it ends (its duration is the
/// span's own);
/// params are logged only when [`Protocol::log_params`] is on.
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
#[derive(Clone, Default)]
pub struct Protocol<T = NoTimer> {
    limits: Limits,
    expose_internal_errors: bool,
    log_params: bool,
    default_timeout: Option<Duration>,
    timer: T,
    middleware: Vec<Arc<dyn Middleware>>,
    hooks: Option<Arc<dyn Hooks>>,
    accept_jsonrpc1: bool,
    /// Internal failures, logged once per method per quiet period.
    failures: Arc<Failures>,
}

impl<T: fmt::Debug> fmt::Debug for Protocol<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Protocol")
            .field("limits", &self.limits)
            .field("expose_internal_errors", &self.expose_internal_errors)
            .field("log_params", &self.log_params)
            .field("default_timeout", &self.default_timeout)
            .field("timer", &self.timer)
            .field("middleware", &self.middleware.len())
            .field("hooks", &self.hooks.is_some())
            .field("accept_jsonrpc1", &self.accept_jsonrpc1)
            .finish_non_exhaustive()
    }
}

impl Protocol {
    /// The protocol with default [`Limits`], sanitized errors and no timer.
    pub fn new() -> Self {
        Self::default()
    }
}

impl<T: Timer> Protocol<T> {
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

    /// Logs each call's params at `debug` level. Off by default: params may
    /// hold personal data.
    #[must_use]
    pub fn log_params(mut self, log: bool) -> Self {
        self.log_params = log;
        self
    }

    /// Enforces timeouts with `timer`: a method that runs past its
    /// `#[rpc(timeout)]`, or else past the default timeout, is answered with
    /// REQUEST_TIMEOUT and its future is dropped.
    #[must_use]
    pub fn with_timer<U: Timer>(self, timer: U) -> Protocol<U> {
        Protocol {
            limits: self.limits,
            expose_internal_errors: self.expose_internal_errors,
            log_params: self.log_params,
            default_timeout: self.default_timeout,
            timer,
            middleware: self.middleware,
            hooks: self.hooks,
            accept_jsonrpc1: self.accept_jsonrpc1,
            failures: self.failures,
        }
    }

    /// Reads a request without a `jsonrpc` member as JSON-RPC 1.0 (params
    /// an array, `"id": null` for a notification) and answers it in 1.0's
    /// shape (`result` and `error` both present, one of them null, no
    /// `jsonrpc`). Off by default: such a request is an Invalid Request.
    /// Batches are JSON-RPC 2.0 only.
    #[must_use]
    pub fn accept_jsonrpc1(mut self, accept: bool) -> Self {
        self.accept_jsonrpc1 = accept;
        self
    }

    /// Adds a [`Middleware`] at the inner end of the chain (the first added
    /// runs first).
    #[must_use]
    pub fn with_middleware(mut self, middleware: impl Middleware) -> Self {
        self.middleware.push(Arc::new(middleware));
        self
    }

    /// Adds an already shared [`Middleware`].
    #[must_use]
    pub fn with_shared_middleware(mut self, middleware: Arc<dyn Middleware>) -> Self {
        self.middleware.push(middleware);
        self
    }

    /// Sets the lifecycle [`Hooks`] that observe every call.
    #[must_use]
    pub fn with_hooks(mut self, hooks: Arc<dyn Hooks>) -> Self {
        self.hooks = Some(hooks);
        self
    }

    /// The lifecycle hooks, if any.
    pub fn hooks(&self) -> Option<&Arc<dyn Hooks>> {
        self.hooks.as_ref()
    }

    /// The timeout of methods that do not declare their own; `None` for no
    /// limit. Enforced only with a [`Timer`].
    #[must_use]
    pub fn with_default_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.default_timeout = timeout;
        self
    }

    /// The limits in force.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// The service's OpenRPC document as JSON, listing only the methods
    /// `connection` may call (what `rpc.discover` answers); `None` if the
    /// service has no document.
    pub fn discover<S: Service + ?Sized>(
        &self,
        service: &S,
        connection: &ConnectionInfo,
    ) -> Option<Vec<u8>> {
        dispatch::discover(service, connection)
            .ok()
            .map(|result| result.json().to_vec())
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
        match self.check_bytes(message) {
            Ok(text) => self.handle(service, text, connection).await,
            Err(reply) => Some(reply),
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
        if !is_batch(message) {
            let parsed = request::parse(message, &self.limits, self.accept_jsonrpc1);
            let reply = self
                .handle_request(service, parsed, connection, false)
                .await?;
            return Some(Reply::from_bytes(reply));
        }
        let elements = match self.split_batch(message) {
            Ok(elements) => elements,
            Err(reply) => return Some(reply),
        };
        let replies = join_all(elements.into_iter().map(|members| {
            // JSON-RPC 1.0 has no batches.
            let parsed = request::validate(members, &self.limits, false);
            self.handle_request(service, parsed, connection, true)
        }))
        .await;
        batch_reply(replies.into_iter().flatten())
    }

    /// Answers every call in a frame with `error` without running anything
    /// (SERVER_OVERLOADED, say); notifications get nothing, and what is
    /// invalid gets the error it would get from [`Protocol::handle`].
    pub fn reject(&self, message: &[u8], error: &RpcError) -> Option<Reply> {
        let text = match self.check_bytes(message) {
            Ok(text) => text,
            Err(reply) => return Some(reply),
        };
        let reject_one = |parsed| match parsed {
            Ok(Request {
                id: Some(id),
                version,
                ..
            }) => Some(response::error(error, id, version)),
            Ok(Request { id: None, .. }) => None,
            Err(rejected) => self.rejected(rejected),
        };
        if !is_batch(text) {
            return reject_one(request::parse(text, &self.limits, self.accept_jsonrpc1))
                .map(Reply::from_bytes);
        }
        match self.split_batch(text) {
            Ok(elements) => {
                batch_reply(elements.into_iter().filter_map(|members| {
                    reject_one(request::validate(members, &self.limits, false))
                }))
            }
            Err(reply) => Some(reply),
        }
    }

    /// The size check, then UTF-8.
    fn check_bytes<'m>(&self, message: &'m [u8]) -> Result<&'m str, Reply> {
        if let Some(reply) = self.check_size(message.len()) {
            return Err(reply);
        }
        std::str::from_utf8(message).map_err(|err| {
            lone_error(&RpcError::parse_error(format_args!(
                "message is not valid UTF-8: {err}"
            )))
        })
    }

    fn check_size(&self, len: usize) -> Option<Reply> {
        let max = self.limits.max_message_size;
        (len > max).then(|| {
            lone_error(&RpcError::request_too_large(LimitExceeded::MessageSize(
                max,
            )))
        })
    }

    /// A batch's elements, or the one error that answers the whole batch.
    fn split_batch<'m>(&self, message: &'m str) -> Result<Vec<batch::Element<'m>>, Reply> {
        let max = self.limits.max_batch_size;
        match batch::split(message, max) {
            Ok(elements) if elements.is_empty() => {
                Err(lone_error(&RpcError::invalid_request("the batch is empty")))
            }
            Ok(elements) => Ok(elements),
            Err(SplitError::Syntax(err)) => Err(lone_error(&RpcError::parse_error(err))),
            Err(SplitError::TooLarge) => Err(lone_error(&RpcError::request_too_large(
                LimitExceeded::BatchSize(max),
            ))),
        }
    }

    /// Handles one request object (a whole message or one batch element),
    /// parsed.
    async fn handle_request<S: Service + ?Sized>(
        &self,
        service: &S,
        parsed: Result<Request<'_>, Rejected<'_>>,
        connection: &Arc<ConnectionInfo>,
        in_batch: bool,
    ) -> Option<Vec<u8>> {
        let request = match parsed {
            Ok(request) => request,
            Err(rejected) => return self.rejected(rejected),
        };
        // Held until the call has its result.
        let _slot = match connection.call_slots().map(CallSlots::take) {
            Some(None) => {
                let overloaded = RpcError::from_code(ErrorCode::SERVER_OVERLOADED);
                return request
                    .id
                    .map(|id| self.error(overloaded, id, request.version));
            }
            slot => slot,
        };
        let version = request.version;
        let method = &*request.method;
        // Only the span is held across the call (a reference to it too made
        // the boxed future larger, and its allocation slower).
        let span = CallSpan::new(method, request.id, connection);
        if self.log_params {
            if let Some(params) = request.params.raw() {
                span.span()
                    .in_scope(|| tracing::debug!(params = params.get(), "params"));
            }
        }
        let mut call = Call::new(method, request.params, request.id, connection);
        call.in_batch = in_batch;
        call.version = version;
        let result = if self.hooks.is_none() && self.middleware.is_empty() {
            // The plain path: no chain, no hooks, nothing added to the call.
            dispatch::run(service, call, &self.timer, self.default_timeout)
                .instrument(span.span().clone())
                .await
        } else {
            // Boxed so the plain path's future stays small.
            Box::pin(self.observed(service, call))
                .instrument(span.span().clone())
                .await
        };
        span.finish(&result);
        let _entered = span.span().enter();
        let Some(id) = request.id else {
            if let Err(error) = result {
                self.failures.log(method, &error);
            }
            return None;
        };
        Some(match result {
            // A subscription's reply, already on its way.
            Ok(result) if result.was_sent() => return None,
            Ok(result) => response::success(result, id, version),
            Err(error) => {
                self.failures.log(method, &error);
                self.error(error, id, version)
            }
        })
    }

    /// Runs a call, telling the hooks (if any) when it starts and ends.
    async fn observed<S: Service + ?Sized>(&self, service: &S, call: Call<'_>) -> MethodResult {
        let Some(hooks) = &self.hooks else {
            return self.run(service, call).await;
        };
        quietly(|| hooks.call_started(&call));
        let watch = CallWatch {
            hooks: &**hooks,
            call,
            started: Instant::now(),
        };
        let result = self.run(service, call).await;
        watch.end(&result);
        result
    }

    /// Runs a call through the middleware chain (if any) to the method.
    async fn run<S: Service + ?Sized>(&self, service: &S, call: Call<'_>) -> MethodResult {
        let endpoint = MethodEndpoint {
            service,
            timer: &self.timer,
            default_timeout: self.default_timeout,
        };
        if self.middleware.is_empty() {
            // No chain: nothing boxed, nothing added to the call's path.
            return dispatch::run(service, call, &self.timer, self.default_timeout).await;
        }
        dispatch::guard(call.method, || {
            Next::new(&self.middleware, &endpoint).run(call)
        })
        .await
    }

    /// The reply to a request that could not be run, if any.
    fn rejected(&self, rejected: Rejected<'_>) -> Option<Vec<u8>> {
        match rejected {
            Rejected {
                id: Some(id),
                error,
                version,
            } => Some(self.error(error, id, version)),
            Rejected {
                id: None, error, ..
            } => {
                tracing::debug!(%error, "rejected without a reply (a notification, or a stray response)");
                None
            }
        }
    }

    fn error(&self, error: RpcError, id: Id<'_>, version: Version) -> Vec<u8> {
        if self.expose_internal_errors {
            response::error(&error.expose_detail(), id, version)
        } else {
            response::error(&error, id, version)
        }
    }
}

fn is_batch(message: &str) -> bool {
    message
        .trim_start_matches([' ', '\t', '\n', '\r'])
        .starts_with('[')
}

/// A batch's replies as one array; a batch of only notifications gets no
/// reply at all, not `[]`.
fn batch_reply(replies: impl IntoIterator<Item = Vec<u8>>) -> Option<Reply> {
    let mut replies = replies.into_iter().peekable();
    replies.peek()?;
    Some(Reply::from_bytes(response::batch(replies)))
}

/// A reply that is a single error with id null (a whole-message failure).
fn lone_error(error: &RpcError) -> Reply {
    Reply::from_bytes(response::error(error, Id::NULL, Version::V2))
}

/// A running call as the hooks see it: it tells them how the call ended,
/// or, dropped before that (the call's future was dropped unfinished: its
/// connection closed, or was cut at the shutdown's drain timeout), that it
/// was cancelled. Without it a dropped call would never end for them.
struct CallWatch<'a, 'c> {
    hooks: &'a dyn Hooks,
    call: Call<'c>,
    started: Instant,
}

impl CallWatch<'_, '_> {
    fn end(self, result: &MethodResult) {
        let (hooks, call, elapsed) = (self.hooks, &self.call, self.started.elapsed());
        match result {
            Ok(_) => quietly(|| hooks.call_completed(call, elapsed)),
            Err(error) => quietly(|| hooks.call_failed(call, error.code(), elapsed)),
        }
        // Ended: not cancelled. (It holds nothing that needs dropping.)
        std::mem::forget(self);
    }
}

impl Drop for CallWatch<'_, '_> {
    fn drop(&mut self) {
        let elapsed = self.started.elapsed();
        quietly(|| self.hooks.call_cancelled(&self.call, elapsed));
    }
}

/// Runs a hook; a panicking one is logged, not propagated.
fn quietly(hook: impl FnOnce()) {
    if catch_unwind(AssertUnwindSafe(hook)).is_err() {
        tracing::error!("a lifecycle hook panicked");
    }
}
