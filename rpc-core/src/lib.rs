//! The JSON-RPC 2.0 protocol engine, free of any transport or async runtime.
//!
//! This crate owns the protocol rules; the server and its transports call
//! into it, and so does the code `#[rpc_service]` generates:
//!
//! - [`Protocol`], the one entry point: a frame in, zero or one reply out.
//!   It checks the size, parses borrowing from the frame, validates exactly
//!   per the specification, splits batches and runs their elements
//!   concurrently, enforces the [`Limits`] and sanitizes errors.
//! - [`Service`], the trait a set of methods implements: dispatch by name
//!   with the raw [`Params`], results serialized straight into the reply.
//! - [`RpcError`] and [`ErrorCode`], the error model.
//! - [`Id`], request ids echoed back byte for byte.
//! - [`RpcContext`], what a method may know about its call and connection.
//!
//! # Example
//!
//! ```
//! use rpc_core::{Call, ConnectionInfo, MethodFuture, Protocol, RpcError, Service};
//!
//! struct Calculator;
//!
//! impl Service for Calculator {
//!     fn call<'a>(&'a self, call: Call<'a>) -> MethodFuture<'a> {
//!         match call.method {
//!             "subtract" => match call.params.parse::<(i64, i64)>() {
//!                 Ok((minuend, subtrahend)) => MethodFuture::ok(&(minuend - subtrahend)),
//!                 Err(err) => MethodFuture::err(err),
//!             },
//!             _ => MethodFuture::err(RpcError::method_not_found()),
//!         }
//!     }
//! }
//!
//! let protocol = Protocol::new();
//! let connection = ConnectionInfo::detached();
//! let batch = r#"[
//!     {"jsonrpc": "2.0", "method": "subtract", "params": [42, 23], "id": 1.0},
//!     {"jsonrpc": "2.0", "method": "divide", "params": [1, 0], "id": "b"},
//!     {"jsonrpc": "2.0", "method": "subtract", "params": [1, 1]}
//! ]"#;
//! let reply = futures_executor::block_on(protocol.handle(&Calculator, batch, &connection));
//! assert_eq!(
//!     reply.unwrap().as_str(),
//!     concat!(
//!         r#"[{"jsonrpc":"2.0","result":19,"id":1.0},"#,
//!         r#"{"jsonrpc":"2.0","error":{"code":-32601,"message":"Method not found"},"id":"b"}]"#,
//!     )
//! );
//! ```

mod connection;
mod describe;
mod engine;
mod peer;
mod private;
mod wire;

pub use connection::context::RpcContext;
pub use connection::extensions::Extensions;
pub use connection::id::{ConnectionId, InstanceId, ParseIdError};
pub use connection::transport::Transport;
pub use connection::{ConnectionInfo, Permissions};
pub use describe::metadata::{MethodInfo, ParamInfo, SchemaFn, SubscriptionInfo, schema_for};
pub use describe::openrpc::{
    Components, ContentDescriptor, ErrorObject, OPENRPC_VERSION, OpenRpc, OpenRpcInfo,
    OpenRpcMethod, OpenRpcSubscription,
};
pub use engine::call_rates::{CallRates, RateBucket};
pub use engine::hooks::{BackendEvent, DisconnectReason, DropCause, Hooks};
pub use engine::middleware::{Middleware, Next};
pub use engine::protocol::Protocol;
pub use engine::rate::{ParseRateError, Rate};
pub use engine::service::{Call, MethodFuture, Service};
pub use engine::timer::{NoTimer, Timer};
pub use peer::group_stream::{GroupFrames, GroupMessage, GroupStream};
pub use peer::position::{Position, Positioned};
pub use peer::subscription::{Frames, Subscription, dropped_frame};
pub use peer::{CallError, Peer};
pub use wire::error::{ErrorCode, RpcError};
pub use wire::id::{Id, IdKind, OwnedId};
pub use wire::limits::Limits;
pub use wire::params::Params;
pub use wire::request::{Request, Version};
pub use wire::response::{MethodResult, Reply, SerializedResult};

pub mod calls {
    //! Calling the other side, from either end (the server calling its
    //! client, the client calling its server): request frames and their
    //! params, the calls waiting for responses, and the link a [`Peer`]
    //! sends through. What transports use; a service never needs it.
    //!
    //! [`Peer`]: crate::Peer
    pub use crate::peer::pending::{CallOutcome, PendingCall, PendingCalls};
    pub use crate::peer::{
        PeerFuture, PeerLink, Response, params_json, parse_response, request_frame,
    };
}

pub mod log {
    //! Logging that cannot flood, and the caller's trace context: what the
    //! framework's transports log refusals and failures with and read
    //! `traceparent` with, for transports of other kinds too.
    pub use crate::engine::call_span::traceparent;
    pub use crate::engine::quiet::{QUIET, QuietPeriod};
}

#[doc(hidden)]
pub mod __private {
    //! Support for the code `#[rpc_service]` generates; not a public API.
    pub use crate::private::*;
}
