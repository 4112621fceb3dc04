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

mod batch;
mod call_rates;
mod call_slots;
mod connection;
mod connection_id;
mod context;
mod decode;
mod dispatch;
mod error;
mod extensions;
mod group_stream;
mod hooks;
mod id;
mod limits;
mod metadata;
mod middleware;
mod openrpc;
mod params;
mod peer;
mod pending;
mod plain_str;
mod private;
mod protocol;
mod rate;
mod request;
mod response;
mod service;
mod subscription;
mod timer;
mod transport;

pub use call_rates::{CallRates, RateBucket};
pub use connection::{ConnectionInfo, Permissions};
pub use connection_id::{ConnectionId, InstanceId, ParseIdError};
pub use context::RpcContext;
pub use error::{ErrorCode, RpcError};
pub use extensions::Extensions;
pub use group_stream::{GroupFrames, GroupMessage, GroupStream};
pub use hooks::{BackendEvent, DisconnectReason, DropCause, Hooks};
pub use id::{Id, IdKind, OwnedId};
pub use limits::Limits;
pub use metadata::{MethodInfo, ParamInfo, SchemaFn, SubscriptionInfo, schema_for};
pub use middleware::{Middleware, Next};
pub use openrpc::{
    Components, ContentDescriptor, ErrorObject, OPENRPC_VERSION, OpenRpc, OpenRpcInfo,
    OpenRpcMethod, OpenRpcSubscription,
};
pub use params::Params;
pub use peer::{CallError, Peer};
pub use protocol::Protocol;
pub use rate::{ParseRateError, Rate};
pub use request::{Request, Version};
pub use response::Reply;
pub use response::{MethodResult, SerializedResult};
pub use service::{Call, MethodFuture, Service};
pub use subscription::{Frames, Subscription, dropped_frame};
pub use timer::{NoTimer, Timer};
pub use transport::Transport;

pub mod calls {
    //! Calling the other side, from either end (the server calling its
    //! client, the client calling its server): request frames and their
    //! params, the calls waiting for responses, and the link a [`Peer`]
    //! sends through. What transports use; a service never needs it.
    //!
    //! [`Peer`]: crate::Peer
    pub use crate::peer::{
        PeerFuture, PeerLink, Response, params_json, parse_response, request_frame,
    };
    pub use crate::pending::{CallOutcome, PendingCall, PendingCalls};
}

#[doc(hidden)]
pub mod __private {
    //! Support for the code `#[rpc_service]` generates; not a public API.
    pub use crate::private::*;
}
