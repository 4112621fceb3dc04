//! The server over real sockets (and `TestClient` in memory): each concern
//! in its own file.

mod basics;
mod browser_handshakes;
mod closing_handshake;
mod dashboard;
mod explorer_forms;
mod extensibility;
pub(crate) mod history;
mod http;
mod jsonrpc1;
mod large_messages;
mod lifecycle;
mod limits;
mod metrics;
mod mounted;
mod push;
mod redis_groups;
mod redis_history;
mod redis_link;
mod subscriptions;
mod test_client;
mod tls;
mod tracing_spans;
