//! JSON-RPC 2.0 services in Rust: write an impl, put `#[rpc_service]` on it,
//! and `serve` it over WebSocket.
//!
//! ```no_run
//! use rpc_server::{rpc_service, serve, RpcContext, RpcError};
//!
//! /// A calculator.
//! struct Calc;
//!
//! #[rpc_service]
//! impl Calc {
//!     /// Subtracts `subtrahend` from `minuend`.
//!     async fn subtract(&self, minuend: i64, subtrahend: i64) -> i64 {
//!         minuend - subtrahend
//!     }
//!
//!     #[rpc(name = "math.divide", timeout = "2s")]
//!     fn divide(&self, a: f64, b: f64) -> Result<f64, RpcError> {
//!         if b == 0.0 {
//!             return Err(RpcError::new(4000, "division by zero"));
//!         }
//!         Ok(a / b)
//!     }
//!
//!     async fn whoami(&self, ctx: &RpcContext) -> String {
//!         format!("{:?}", ctx.remote_addr())
//!     }
//!
//!     #[rpc(notification)]
//!     async fn log(&self, line: String) {
//!         println!("{line}");
//!     }
//! }
//!
//! #[tokio::main]
//! async fn main() -> std::io::Result<()> {
//!     serve("127.0.0.1:9000", Calc)?.await
//! }
//! ```
//!
//! [`serve`] runs with the defaults; [`Server::builder`] sets every knob
//! ([`ServerConfig`] lists them, with the environment variables
//! [`ServerConfig::from_env`] reads). `serve` binds at once, so a port in
//! use is its error; the server it returns knows its
//! [`local_addr`](Serve::local_addr) before it runs (bind port 0 in tests),
//! takes a [graceful-shutdown signal](Serve::with_graceful_shutdown)
//! ([`shutdown_signal`]: SIGTERM or SIGINT), and gives a [`ServerHandle`]
//! to stop it from elsewhere.
//!
//! [`testing::TestClient`] calls a service in memory through the same
//! pipeline, for unit tests:
//!
//! ```
//! use rpc_server::{rpc_service, testing::TestClient};
//!
//! struct Calc;
//!
//! #[rpc_service]
//! impl Calc {
//!     async fn add(&self, a: i64, b: i64) -> i64 { a + b }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let client = TestClient::new(Calc);
//! assert_eq!(client.call::<i64>("add", (2, 3)).await.unwrap(), 5);
//! # }
//! ```
//!
//! # Connections, authentication, permissions, middleware, hooks
//!
//! - Every method can take `&RpcContext`: the method name, the raw request
//!   id, whether the call is a notification, and its connection: remote
//!   address, handshake path, query, headers and cookies, the negotiated
//!   subprotocol, a connection id, and typed extensions.
//! - [`ServerBuilder::on_connect`] runs (async) before the WebSocket
//!   upgrade. It admits the client ([`Admission`](connect::Admission): grant permissions, store
//!   typed values such as the authenticated user) or refuses it with an
//!   HTTP status ([`Rejection`](connect::Rejection): 401, 403, …), and then the socket is never
//!   upgraded. [`ServerBuilder::on_disconnect`] hears when and why a
//!   connection ended.
//! - `#[rpc(permission = "…")]` (several allowed, all required) is checked
//!   against what `on_connect` granted, before the params are decoded. A
//!   denied call is answered exactly like an unknown method, and
//!   `rpc.discover` lists only what the connection may call.
//! - [`Middleware`](middleware::Middleware) wraps every call (notifications and batch elements
//!   included) in the order added: it may change the call, answer it
//!   itself, time it, and see or change the result. A panic in middleware
//!   is INTERNAL_ERROR for that call.
//! - [`Hooks`](hooks::Hooks) observe calls (started, completed with their duration, failed
//!   with their code) and connections (connected, disconnected).
//! - With no middleware or hooks configured the call path is what it was
//!   without them (`benches/pipeline.rs` measures it).
//!
//! ```
//! use rpc_server::{rpc_service, RpcContext, Server};
//! use rpc_server::connect::{Admission, Rejection};
//!
//! struct User(String);
//!
//! struct Reports;
//!
//! #[rpc_service]
//! impl Reports {
//!     fn whoami(&self, ctx: &RpcContext) -> Option<String> {
//!         ctx.extensions().get::<User>().map(|user| user.0.clone())
//!     }
//!
//!     #[rpc(permission = "reports.export")]
//!     fn export(&self, year: u16) -> String {
//!         format!("report {year}")
//!     }
//! }
//!
//! let server = Server::builder()
//!     .on_connect(|request| async move {
//!         match request.bearer_token() {
//!             Some("admin-token") => Ok(Admission::new()
//!                 .grant("reports.export")
//!                 .insert(User("admin".into()))),
//!             _ => Err(Rejection::unauthorized("a bearer token is required")),
//!         }
//!     })
//!     .serve("127.0.0.1:0", Reports);
//! # drop(server);
//! ```
//!
//! # Server push, groups, several instances
//!
//! A method taking `&RpcContext` reaches its client through
//! [`RpcContext::peer`]: [`Peer::notify`], [`Peer::call`] (the client
//! answers), and groups: [`RpcContext::join`], [`Peer::notify_group`] (to
//! every member, serialized once), [`Peer::notify_connection`] (to one
//! client, by its [`ConnectionId`](connect::ConnectionId)). [`ServerHandle`] does the same from
//! outside any handler. A connection leaves its groups when it closes.
//!
//! Each connection's queue is bounded by bytes
//! ([`ServerConfig::max_queued_bytes`], 4 MiB): a client that reads gets
//! every message of a burst, however many; one that leaves that much unread
//! meets the [`SlowMemberPolicy`](groups::SlowMemberPolicy) (disconnected by default, or its
//! messages dropped).
//!
//! Groups live in a [`GroupBackend`](groups::GroupBackend): [`LocalGroups`](groups::LocalGroups) in this process by
//! default, or `rpc_redis::RedisGroups` to share them (and reach any
//! connection) across every instance on one Redis, set with
//! [`ServerBuilder::groups`]. Counts over every instance come from
//! [`ServerHandle::member_count`] and [`ServerHandle::groups_of`].
//!
//! # Subscriptions
//!
//! A method marked `#[rpc(subscription)]` returns a `Stream` of items (or a
//! `Result` of one, to refuse before anything starts). The macro makes it
//! the subscribe method, which answers with a fresh subscription id, adds
//! its unsubscribe method, and sends each item as a notification, in the
//! format jsonrpsee and Ethereum clients speak:
//! `{"jsonrpc":"2.0","method":"counter","params":{"subscription":"<id>","result":7}}`.
//!
//! ```
//! use std::time::Duration;
//!
//! use futures_util::Stream;
//! use rpc_server::{RpcError, rpc_service};
//!
//! struct Counters;
//!
//! #[rpc_service]
//! impl Counters {
//!     /// Counts up from `start`, as `counter` notifications, until
//!     /// `unsubscribe_counter` (the default name: `subscribe` becomes
//!     /// `unsubscribe`; set it with `unsubscribe = "…"`).
//!     #[rpc(subscription = "counter")]
//!     fn subscribe_counter(
//!         &self,
//!         start: u64,
//!     ) -> Result<impl Stream<Item = u64> + Send + 'static, RpcError> {
//!         Ok(futures_util::stream::unfold(start, |next| async move {
//!             tokio::time::sleep(Duration::from_millis(100)).await;
//!             Some((next, next + 1))
//!         }))
//!     }
//! }
//! ```
//!
//! The reply goes out before the first item. A subscription ends when its
//! client calls the unsubscribe method with its id (only the connection
//! that opened it can), when the stream ends, or with the connection; the
//! stream is dropped at once. Items go through the connection's queue, so a
//! subscriber that does not keep up meets the [`SlowMemberPolicy`](groups::SlowMemberPolicy) (with
//! `DropMessage`, it is told how many it missed:
//! `{"subscription":"<id>","dropped":3}`). A connection has at most
//! [`ServerConfig::max_subscriptions_per_connection`] open (1,024).
//! Subscriptions need a WebSocket, and are opened by a call of their own
//! (not in a batch, not as a notification). The OpenRPC document describes
//! them with the extension `x-subscription`: the notification's name, the
//! unsubscribe method and the item's schema.
//!
//! A subscription can follow a group: [`RpcContext::group_stream`] is a
//! stream of every message broadcast to it ([`GroupMessage`](groups::GroupMessage): method and
//! params), so returning it from a subscription method forwards a room to
//! its subscriber, on every instance when the groups are shared
//! (`rpc_redis::RedisGroups`):
//!
//! ```
//! use rpc_server::{RpcContext, RpcError, rpc_service};
//! use rpc_server::groups::GroupStream;
//!
//! struct Rooms;
//!
//! #[rpc_service]
//! impl Rooms {
//!     /// Everything said in `room`, as `room` notifications.
//!     #[rpc(subscription = "room")]
//!     fn subscribe_room(&self, ctx: &RpcContext, room: String) -> Result<GroupStream, RpcError> {
//!         ctx.group_stream(&room)
//!     }
//! }
//! ```
//!
//! A group can keep its history, so that a follower that comes back gets
//! what it missed: [`LocalGroups::with_history`](groups::LocalGroups::with_history) (or
//! `rpc_redis::RedisConfig::with_history` across instances) says which
//! groups keep how much; each message then has a
//! [`Position`](groups::Position), sent beside the item
//! (`"position":{"epoch":…,"offset":…}`), and
//! [`RpcContext::group_stream_since`] starts with what the history holds
//! after the client's `since`, then the live messages, with no gap and no
//! duplicate between them, or with `"recovered": false` when the history
//! no longer covers it (the README's "Push that loses nothing" has the
//! wire contract):
//!
//! ```
//! use std::time::Duration;
//!
//! use futures_util::Stream;
//! use rpc_server::groups::{GroupHistory, HistoryRules, LocalGroups, Position, Positioned};
//! use rpc_server::{RpcContext, RpcError, Server, rpc_service};
//!
//! struct Chat;
//!
//! #[rpc_service]
//! impl Chat {
//!     /// The `message` notifications of `room`, after `since` when given.
//!     #[rpc(subscription = "room")]
//!     fn subscribe_room(
//!         &self,
//!         ctx: &RpcContext,
//!         room: String,
//!         since: Option<Position>,
//!     ) -> Result<impl Stream<Item = Positioned<serde_json::Value>> + Send + 'static, RpcError> {
//!         Ok(ctx.group_stream_since(&room, since)?.params_of("message"))
//!     }
//! }
//!
//! let rooms = LocalGroups::new().with_history(
//!     HistoryRules::new().rule("*", GroupHistory::new(1_000, Duration::from_secs(600))),
//! );
//! let server = Server::builder().groups(rooms).serve("127.0.0.1:0", Chat);
//! # drop(server);
//! ```
//!
//! # HTTP and TLS
//!
//! The port that serves WebSocket upgrades also answers plain HTTP:
//! `POST /` with a JSON-RPC body (`Content-Type: application/json`) gets the
//! reply with 200, or 204 when there is none (notifications); an oversized
//! body gets 413 with a REQUEST_TOO_LARGE body, another content type 415,
//! another method on `/` 405. `GET /openrpc.json` serves the OpenRPC
//! document (filtered like `rpc.discover`) and `GET /health` answers 200
//! (while the server drains, new connections are refused and a keep-alive
//! connection already open gets 503). `on_connect` runs for every call
//! (`POST /`) and for `/openrpc.json`, so authentication is the same on both
//! transports; permissions, middleware and the call hooks apply alike (the
//! connect and disconnect hooks are the WebSocket's: an HTTP request is not
//! a connection). `#[rpc(transport = "ws")]` or
//! `"http"` restricts a method to one transport (a method taking a
//! [`Peer`] is WebSocket-only).
//!
//! `GET /explorer` serves the API explorer, a page compiled into the server
//! that lists the methods a connection may call, with a form for each, and
//! shows results, errors and the server's notifications; it calls over a
//! WebSocket like any client, and loads nothing from anywhere else. Turn it
//! off with [`ServerConfig::explorer`] (`RPC_EXPLORER=false`).
//!
//! `GET /metrics` serves Prometheus metrics (the OpenMetrics text) when
//! [`ServerConfig::metrics`] is on (`RPC_METRICS=true`), or on an address
//! of its own with [`ServerConfig::metrics_addr`] (`RPC_METRICS_ADDR`):
//! connections, refused handshakes, calls by method and outcome, call
//! durations, calls in flight, bytes, pushes dropped for slow members and
//! a shared group backend's state. Off, nothing is counted.
//!
//! With the `tls` feature, `ServerBuilder::tls` (or `RPC_TLS_CERT` and
//! `RPC_TLS_KEY`) loads a PEM certificate chain and key, and the same port
//! serves `wss://` and `https://`.
//!
//! # In an axum app
//!
//! `ServerBuilder::endpoint` makes the same endpoint a tower service
//! (`Endpoint`, feature `tower`), to mount with
//! `Router::nest_service("/rpc", endpoint)` next to ordinary routes: the
//! WebSocket at `/rpc`, calls by `POST /rpc`, `/rpc/openrpc.json`,
//! `/rpc/health`, `/rpc/explorer`, with the same origins, authentication,
//! limits and hooks. The host owns the port, TLS and the HTTP connections;
//! `Endpoint::shutdown` drains the WebSockets. With the `axum` feature it
//! reads the client's address from axum's `ConnectInfo`. The `axum_app`
//! example is a whole app.
//!
//! | feature | what it adds |
//! |---|---|
//! | `tls` | TLS termination with rustls (ring provider) |
//! | `tower` | `Endpoint`: the endpoint as a tower service, for any hyper or tower server |
//! | `axum` | `tower`, and the client's address from axum's `ConnectInfo` |
//! | `opentelemetry` | the caller's W3C `traceparent` (handshake or HTTP request) as the OpenTelemetry parent of the connection's or request's span, so calls join the caller's trace when a `tracing-opentelemetry` layer is installed (the `tracing_otel` example) |
//!
//! # On the wire
//!
//! - Text frames carry JSON-RPC; a binary frame holding UTF-8 JSON is
//!   handled the same way and answered with a text frame; a binary frame
//!   that is not UTF-8 is a Parse error. A text frame that is not UTF-8
//!   breaks the WebSocket protocol: the connection is closed with 1007.
//! - Requests on one connection run concurrently; each reply goes out when
//!   its request completes. Batches are answered in one frame.
//! - A client offering the `jsonrpc2.0` or `jsonrpc-2.0` subprotocol gets it.
//! - Origins: a handshake from a web page of another site is refused with
//!   403 before `on_connect` runs (cross-site WebSocket hijacking), unless
//!   its origin is listed in [`ServerConfig::allowed_origins`]; clients
//!   that send no `Origin` (not browsers) and same-origin pages are
//!   admitted.
//! - Limits: a message over `limits.max_message_size` is answered with
//!   REQUEST_TOO_LARGE and the connection carries on; only one beyond
//!   `max_frame_size` closes it (1009). One request past
//!   `max_pending_requests` is answered SERVER_OVERLOADED (-32003). One
//!   connection past `max_connections` is refused at the handshake with
//!   HTTP 503. When a client doesn't read its replies the server stops
//!   reading its requests, so memory stays bounded.
//! - Timeouts: a method past its `#[rpc(timeout)]` (or the server's
//!   `request_timeout`, 60 s) is answered REQUEST_TIMEOUT and its future
//!   dropped; handshakes must finish within `handshake_timeout`; a client
//!   that leaves `max_missed_pongs` keepalive pings unanswered is closed;
//!   optional idle timeout and maximum connection age.
//! - A panicking method is answered INTERNAL_ERROR; unexpected errors are
//!   sanitized (the detail goes to the `tracing` log), unless
//!   `expose_internal_errors` is on for development. Each call runs in a
//!   `tracing` span with its method and id; params are never logged unless
//!   `log_params` is on.
//! - Graceful shutdown: stop accepting, answer every request already
//!   received, then close each connection with 1001, within `drain_timeout`.
//!
//! # `#[rpc_service]`
//!
//! Goes on `impl Trait for Type { … }` or on an inherent `impl Type { … }`.
//! Every method in the block becomes an RPC method named after the function;
//! each must take `&self` (methods run concurrently on a shared service).
//! `async fn` and plain `fn` are both allowed: a plain `fn` runs inline, or
//! on tokio's blocking thread pool with `#[rpc(blocking)]`.
//!
//! The attribute on the impl takes, all optional:
//!
//! | key | meaning | default |
//! |---|---|---|
//! | `title = "…"` | the OpenRPC document's title | the crate's package name |
//! | `version = "…"` | the OpenRPC document's version | the crate's package version |
//! | `namespace = "…"` | a prefix for every method name: `namespace.method` | none |
//! | `crate = "…"` | where the generated code finds this crate, when Cargo.toml renames it (`crate = "my_rpc"`); `#[rpc_client(crate = "…")]` likewise for `rpc-client` | `::rpc_server` |
//!
//! Each method may carry `#[rpc(…)]` with:
//!
//! | key | meaning |
//! |---|---|
//! | `name = "…"` | the name on the wire (after the namespace) instead of the function's |
//! | `notification` | the method is meant to be sent as a notification; it returns nothing (or `Result<(), E>`), and a call with an id is answered with `null` |
//! | `timeout = "5s"` | how long the method may run (`ms`, `s`, `m`, `h`) before it is answered REQUEST_TIMEOUT; overrides the server's `request_timeout` |
//! | `permission = "…"` | a permission the connection needs; repeat for several, all required (granted by `on_connect`; a connection without it is answered as if the method did not exist) |
//! | `transport = "ws"` or `"http"` | the only transport the method may be called over |
//! | `rate = "10/s"` | how often one client may call the method (`N/s`, `N/m`, `N/h`, optionally `, burst M`): past it, RATE_LIMITED (-32004) with `data.retry_after_ms`; on top of the server's `rate_limit` |
//! | `blocking` | a plain `fn` that blocks: it runs on the blocking thread pool, on a clone of the service (so the service must be `Clone`; keep state in an `Arc`) |
//!
//! Names beginning with `rpc.` are reserved: the framework answers
//! `rpc.discover` with the service's OpenRPC document.
//!
//! ## Parameters
//!
//! Every argument after `&self` is a JSON parameter named after its
//! identifier, decoded straight from the request's raw JSON (no
//! `serde_json::Value` in between). Its type must implement
//! `serde::Deserialize` and `schemars::JsonSchema`, and be owned: `String`,
//! not `&str` (the macro says so at the parameter).
//!
//! The impl may be generic, the usual way to inject a backend
//! (`impl<S: Store> Api<S>`), as long as the types on the wire do not use
//! its parameters (their schemas are built once for every `Api<S>`).
//!
//! - **By position** (`"params": [42, 23]`): exactly as many as the method
//!   takes, except that trailing `Option<T>` parameters may be left out.
//! - **By name** (`"params": {"minuend": 42, "subtrahend": 23}`): every
//!   parameter that is not an `Option<T>` must be present; an unknown or
//!   repeated key is an error (typos surface).
//! - **Omitted** `params`: the same as `[]`.
//!
//! Any mismatch is INVALID_PARAMS (-32602), whose `data` names the parameter
//! and what was wrong ("missing required parameter `subtrahend`",
//! "invalid parameter `a`: invalid type: string \"x\", expected f64").
//!
//! Three kinds of argument are filled in by the framework instead, and are
//! neither JSON parameters nor in the OpenRPC document:
//!
//! - `&RpcContext` (anywhere in the list): the call's method name and id,
//!   and its connection.
//! - `Peer` (anywhere in the list): the other side of a WebSocket
//!   connection, to notify or call it, also after the method returns (it
//!   is cheap to clone and keep). A method taking one is WebSocket-only.
//! - `Params<'_>`: the raw params, whole, for methods that decode them
//!   themselves (the specification's variadic `sum`, say). Such a method
//!   takes no other JSON parameter.
//!
//! ```
//! use rpc_server::{rpc_service, Params, RpcError};
//!
//! struct Spec;
//!
//! #[rpc_service]
//! impl Spec {
//!     /// Sums any number of numbers.
//!     fn sum(&self, params: Params<'_>) -> Result<f64, RpcError> {
//!         let numbers: Vec<f64> = params.parse()?;
//!         Ok(numbers.iter().sum())
//!     }
//! }
//! ```
//!
//! ## Results
//!
//! A method returns a `T: Serialize + JsonSchema`, a `Result<T, E>` (or any
//! alias of one whose name ends in `Result`) with `E: Into<RpcError>`, or
//! nothing (`null` on the wire). A result that fails to serialize is
//! PARSE_RESULT_ERROR (-32701). An error type of your own carries its own
//! code and data by converting into [`RpcError`]:
//!
//! ```
//! use rpc_server::{rpc_service, ErrorCode, RpcError};
//!
//! enum BankError {
//!     NoSuchAccount(u64),
//!     Database(std::io::Error),
//! }
//!
//! impl From<BankError> for RpcError {
//!     fn from(err: BankError) -> Self {
//!         match err {
//!             BankError::NoSuchAccount(id) => {
//!                 RpcError::new(ErrorCode::new(4004), "no such account").with_data(&id)
//!             }
//!             // Sanitized: the client sees "Internal error", the log sees why.
//!             BankError::Database(err) => RpcError::internal(err),
//!         }
//!     }
//! }
//!
//! struct Bank;
//!
//! #[rpc_service]
//! impl Bank {
//!     fn balance(&self, account: u64) -> Result<u64, BankError> {
//!         Err(BankError::NoSuchAccount(account))
//!     }
//! }
//! ```
//!
//! ## Introspection
//!
//! The generated [`Service`](service::Service) impl exposes [`Service::methods`](service::Service::methods) (name,
//! parameters with names, types and whether they are required, docs from
//! `///` comments, notification flag, permissions, timeout, `#[deprecated]`)
//! and [`Service::openrpc`](service::Service::openrpc), an [OpenRPC 1.2.6](https://spec.open-rpc.org/)
//! document built once and cached, with JSON Schemas (draft-07) for every
//! parameter and result and shared definitions under `#/components/schemas`.

pub use rpc_core::{CallError, ErrorCode, Params, Peer, RpcContext, RpcError};
pub use rpc_macros::rpc_service;

pub use config::ServerConfig;
#[cfg(feature = "tower")]
pub use endpoint::Endpoint;
pub use serve::{Serve, ServerHandle};
pub use server::{Server, ServerBuilder, serve};
pub use signals::shutdown_signal;

pub mod config;
pub mod groups;
pub mod testing;

pub mod connect {
    //! Admitting connections and what a handler knows of one: what
    //! [`on_connect`](crate::ServerBuilder::on_connect) receives and answers,
    //! and the connection's description, identity and end.
    pub use crate::admission::{Admission, ConnectRequest, Rejection};
    pub use rpc_core::{
        ConnectionId, ConnectionInfo, DisconnectReason, Extensions, Permissions, Transport,
    };
}

pub mod middleware {
    //! Around every call: the [`Middleware`] trait, the rest of the chain
    //! ([`Next`]), and what a middleware reads and answers with.
    pub use rpc_core::{Call, MethodFuture, MethodResult, Middleware, Next, SerializedResult};
}

pub mod hooks {
    //! Observing the server: the [`Hooks`] trait and the group backend's
    //! events.
    pub use rpc_core::{BackendEvent, DropCause, Hooks};
}

pub mod service {
    //! What `#[rpc_service]` implements, for a hand-written service or a
    //! tool that drives the protocol engine itself: the [`Service`] trait,
    //! method descriptions, the OpenRPC document, the engine and its replies.
    pub use rpc_core::{
        Call, CallRates, Id, IdKind, MethodFuture, MethodInfo, MethodResult, OpenRpc, OpenRpcInfo,
        ParamInfo, Protocol, RateBucket, Reply, SerializedResult, Service,
    };
}

mod addresses;
mod admission;
mod connection;
#[cfg(feature = "tower")]
mod endpoint;
mod metrics;
mod origin;
mod outgoing;
mod peer;
mod private;
mod rates;
mod refusals;
mod serve;
mod server;
mod shutdown;
mod signals;
mod spans;
mod state;
mod subscriptions;
mod timer;
#[cfg(feature = "tls")]
mod tls;
mod transport;

#[doc(hidden)]
pub mod __private {
    //! Support for the code `#[rpc_service]` generates; not a public API.
    pub use crate::private::*;
}
