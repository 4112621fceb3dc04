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
//! `Result<T, CallError>`:
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
//! }
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let calc = CalculatorClient::new(Client::connect("ws://127.0.0.1:9000").await?);
//! assert_eq!(calc.subtract(42, 23).await?, 19);
//! calc.log("done".to_owned()).await?;
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
//! `wss://` is not supported yet (it comes with the TLS work).

mod backoff;
mod builder;
mod client;
mod error;
mod link;
mod session;

pub use backoff::Reconnect;
pub use builder::ClientBuilder;
pub use client::{Batch, Client, ConnectionState};
pub use error::ConnectError;
pub use rpc_core::{CallError, Params, Peer, RpcContext, RpcError};
pub use rpc_macros::rpc_client;

#[doc(hidden)]
pub mod __private {
    //! Support for the code `#[rpc_client]` generates; not a public API.
    pub use rpc_core::__private::ReturnsResult;
}
