//! A JSON-RPC 2.0 client over WebSocket: calls, notifications and batches;
//! typed clients generated from a trait; serving the server's calls and
//! notifications; keepalive, a pending-request cap, request timeouts and
//! automatic reconnect with backoff.
//!
//! ```no_run
//! use rpc_client::{Client, Reconnect};
//! use std::time::Duration;
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let client = Client::builder("ws://127.0.0.1:9000")
//!     .header("authorization", "Bearer s3cret")
//!     .request_timeout(Duration::from_secs(5))
//!     .reconnect(Reconnect::default().max_delay(Duration::from_secs(10)))
//!     .on_notification("news", |params| println!("news: {:?}", params.raw()))
//!     .on_reconnect(|client| async move {
//!         let _ = client.call::<()>("join", ["room"]).await;
//!     })
//!     .connect()
//!     .await?;
//! let sum: i64 = client.call("add", (2, 3)).await?;
//! # Ok(()) }
//! ```
//!
//! # Typed clients
//!
//! `#[rpc_client]` on a trait generates `<Trait>Client`, with one method per
//! trait method that calls the server (by position) and returns
//! `Result<T, CallError>`; a method marked `#[rpc(subscription)]` (with
//! `unsubscribe = "…"` unless the name follows the server's default)
//! returns `Result<Subscription<T>, CallError>`:
//!
//! ```no_run
//! use rpc_client::{Client, rpc_client};
//!
//! #[rpc_client]
//! trait Calculator {
//!     async fn subtract(&self, minuend: i64, subtrahend: i64) -> i64;
//!     #[rpc(name = "math.divide")]
//!     async fn divide(&self, a: f64, b: f64) -> f64;
//!     #[rpc(notification)]
//!     async fn log(&self, line: String);
//!     #[rpc(subscription)]
//!     async fn subscribe_totals(&self) -> rpc_client::Subscription<i64>;
//! }
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let calc = CalculatorClient::new(Client::connect("ws://127.0.0.1:9000").await?);
//! assert_eq!(calc.subtract(42, 23).await?, 19);
//! calc.log("done".to_owned()).await?;
//! # Ok(()) }
//! ```
//!
//! # Subscriptions and the server's notifications
//!
//! [`Client::subscribe`] calls a subscription method (one that answers with
//! an id, then sends `{"subscription": id, "result": item}` notifications,
//! as `#[rpc(subscription)]` servers, jsonrpsee and Ethereum nodes do) and
//! returns a [`Subscription`]: a `Stream` of its items decoded as `T`.
//! Dropping it unsubscribes. After a reconnect the client opens it again by
//! itself, and the stream first yields [`SubscriptionError::Missed`]: items
//! may have been missed meanwhile. When the server sends each item's
//! position (a subscription following a group with history), the client
//! reopens it with `since`, the last position seen, and the server sends
//! what was missed: the stream then says `Missed` only if the server could
//! not recover (`"recovered": false`). Given several URLs
//! ([`ClientBuilder::alternate_url`]), the client moves to the next when
//! one drains or goes away. [`Client::notifications`] is a `Stream`
//! of every other notification the server sends that no handler or served
//! method takes.
//!
//! ```no_run
//! use futures_util::StreamExt as _;
//! use rpc_client::Client;
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let client = Client::connect("ws://127.0.0.1:9008").await?;
//! let mut news = client.notifications();
//! let mut counter = client
//!     .subscribe::<u64>("subscribe_counter", (1, 100), "unsubscribe_counter")
//!     .await?;
//! for _ in 0..3 {
//!     println!("counter: {}", counter.next().await.expect("open")?);
//! }
//! drop(counter); // unsubscribes
//! if let Some(notification) = news.next().await {
//!     println!("{}: {:?}", notification.method, notification.params);
//! }
//! # Ok(()) }
//! ```
//!
//! # Staying connected
//!
//! While the connection is down every call fails at once with
//! [`CallError::Closed`] (calls waiting when it dropped fail at once too),
//! and the client reconnects with exponential backoff and jitter
//! ([`Reconnect`]). [`Client::watch_state`] follows it; a hook runs after
//! each reconnect. Keepalive pings declare the connection dead after
//! `max_missed_pongs` unanswered ones.
//!
//! `wss://` needs the `tls` feature (rustls, with the webpki roots and any
//! extra roots given to the builder).

mod backoff;
mod builder;
mod client;
mod error;
mod link;
mod notifications;
mod session;
mod settings;
mod state;
mod subscriptions;

pub use backoff::Reconnect;
pub use builder::ClientBuilder;
pub use client::{Batch, Client};
pub use error::ConnectError;
pub use notifications::{NOTIFICATIONS_BUFFER, Notification, Notifications};
pub use rpc_core::{CallError, Params, Peer, RpcContext, RpcError};
pub use rpc_macros::rpc_client;
pub use state::ConnectionState;
pub use subscriptions::{SUBSCRIPTION_BUFFER, Subscription, SubscriptionError};

#[doc(hidden)]
pub mod __private {
    //! Support for the code `#[rpc_client]` generates; not a public API.
    pub use rpc_core::__private::ReturnsResult;
}
