//! The `Service` trait that `#[rpc_service]` implements, and what flows
//! through it.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use serde::Serialize;

use crate::connection::ConnectionInfo;
use crate::connection::context::RpcContext;
use crate::describe::metadata::MethodInfo;
use crate::describe::openrpc::OpenRpc;
use crate::wire::error::RpcError;
use crate::wire::id::Id;
use crate::wire::params::Params;
use crate::wire::response::{MethodResult, SerializedResult};

/// A set of JSON-RPC methods: what `#[rpc_service]` generates, and what every
/// transport runs through [`Protocol`](crate::Protocol).
///
/// [`call`](Service::call) dispatches one valid request. It receives the
/// params as raw JSON borrowed from the frame, so an implementation decodes
/// typed arguments straight from them, and it returns a [`MethodFuture`]
/// whose output is the result already serialized as JSON, ready to be framed
/// as the reply. An unknown method is answered with
/// [`RpcError::method_not_found`].
///
/// A hand-written service:
///
/// ```
/// use rpc_core::{Call, MethodFuture, RpcError, Service};
///
/// struct Calculator;
///
/// impl Service for Calculator {
///     fn call<'a>(&'a self, call: Call<'a>) -> MethodFuture<'a> {
///         match call.method {
///             "subtract" => match call.params.parse::<(i64, i64)>() {
///                 Ok((a, b)) => MethodFuture::ok(&(a - b)),
///                 Err(err) => MethodFuture::err(err),
///             },
///             "slow_add" => match call.params.parse::<(i64, i64)>() {
///                 Ok((a, b)) => MethodFuture::new(async move { Ok(a + b) }),
///                 Err(err) => MethodFuture::err(err),
///             },
///             _ => MethodFuture::err(RpcError::method_not_found()),
///         }
///     }
/// }
/// ```
pub trait Service: Send + Sync + 'static {
    /// Runs one call.
    fn call<'a>(&'a self, call: Call<'a>) -> MethodFuture<'a>;

    /// Metadata about every method, for introspection.
    fn methods(&self) -> &[MethodInfo] {
        &[]
    }

    /// Metadata about one method, by its wire name. Generated services answer
    /// with a `match`; the default searches [`methods`](Service::methods).
    fn method(&self, name: &str) -> Option<&MethodInfo> {
        self.methods().iter().find(|method| method.name == name)
    }

    /// The service's OpenRPC document, which `rpc.discover` answers with;
    /// `None` makes `rpc.discover` an unknown method.
    fn openrpc(&self) -> Option<&OpenRpc> {
        None
    }
}

impl<S: Service + ?Sized> Service for Arc<S> {
    fn call<'a>(&'a self, call: Call<'a>) -> MethodFuture<'a> {
        (**self).call(call)
    }
    fn methods(&self) -> &[MethodInfo] {
        (**self).methods()
    }
    fn method(&self, name: &str) -> Option<&MethodInfo> {
        (**self).method(name)
    }
    fn openrpc(&self) -> Option<&OpenRpc> {
        (**self).openrpc()
    }
}

impl<S: Service + ?Sized> Service for Box<S> {
    fn call<'a>(&'a self, call: Call<'a>) -> MethodFuture<'a> {
        (**self).call(call)
    }
    fn methods(&self) -> &[MethodInfo] {
        (**self).methods()
    }
    fn method(&self, name: &str) -> Option<&MethodInfo> {
        (**self).method(name)
    }
    fn openrpc(&self) -> Option<&OpenRpc> {
        (**self).openrpc()
    }
}

/// One valid request, as a [`Service`] receives it.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct Call<'a> {
    /// The method name.
    pub method: &'a str,
    /// The params, as raw JSON.
    pub params: Params<'a>,
    /// The id, exactly as received; `None` for a notification.
    pub id: Option<Id<'a>>,
    /// The connection the call arrived on.
    pub connection: &'a Arc<ConnectionInfo>,
    /// Whether the call is an element of a batch.
    pub in_batch: bool,
    /// The JSON-RPC it was written in.
    pub version: crate::wire::request::Version,
}

impl<'a> Call<'a> {
    /// A call, as a transport or a test builds it.
    pub fn new(
        method: &'a str,
        params: Params<'a>,
        id: Option<Id<'a>>,
        connection: &'a Arc<ConnectionInfo>,
    ) -> Self {
        Self {
            method,
            params,
            id,
            connection,
            in_batch: false,
            version: crate::wire::request::Version::V2,
        }
    }

    /// The same call, as an element of a batch.
    #[must_use]
    pub fn in_batch(mut self) -> Self {
        self.in_batch = true;
        self
    }

    /// Whether the call is a notification (its result is dropped).
    pub fn is_notification(&self) -> bool {
        self.id.is_none()
    }

    /// The owned [`RpcContext`] for a method that takes one.
    pub fn context(&self) -> RpcContext {
        RpcContext::new(self.method, self.id, Arc::clone(self.connection))
    }
}

/// The future a [`Service`] returns for one call.
///
/// Methods that finish without awaiting use [`MethodFuture::ok`] or
/// [`MethodFuture::err`] and cost no allocation; others are boxed with
/// [`MethodFuture::new`].
#[must_use = "a MethodFuture does nothing unless awaited"]
pub struct MethodFuture<'a>(Inner<'a>);

enum Inner<'a> {
    Ready(Option<MethodResult>),
    Pending(Pin<Box<dyn Future<Output = MethodResult> + Send + 'a>>),
}

impl<'a> MethodFuture<'a> {
    /// A future that runs `fut` and serializes what it returns.
    pub fn new<F, T>(fut: F) -> Self
    where
        F: Future<Output = Result<T, RpcError>> + Send + 'a,
        T: Serialize,
    {
        Self(Inner::Pending(Box::pin(async move {
            SerializedResult::new(&fut.await?)
        })))
    }

    /// A future that runs `fut`, whose output is already a [`MethodResult`].
    pub fn from_result_future<F>(fut: F) -> Self
    where
        F: Future<Output = MethodResult> + Send + 'a,
    {
        Self(Inner::Pending(Box::pin(fut)))
    }

    /// An already finished call.
    pub fn ready(result: MethodResult) -> Self {
        Self(Inner::Ready(Some(result)))
    }

    /// An already finished, successful call.
    pub fn ok<T: Serialize + ?Sized>(value: &T) -> Self {
        Self::ready(SerializedResult::new(value))
    }

    /// An already failed call.
    pub fn err(error: RpcError) -> Self {
        Self::ready(Err(error))
    }
}

impl Future for MethodFuture<'_> {
    type Output = MethodResult;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<MethodResult> {
        match &mut self.0 {
            Inner::Ready(result) => Poll::Ready(result.take().unwrap_or_else(|| {
                Err(RpcError::internal("MethodFuture polled after completion"))
            })),
            Inner::Pending(fut) => fut.as_mut().poll(cx),
        }
    }
}

impl fmt::Debug for MethodFuture<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Inner::Ready(result) => f.debug_tuple("MethodFuture::Ready").field(result).finish(),
            Inner::Pending(_) => f.write_str("MethodFuture::Pending"),
        }
    }
}
