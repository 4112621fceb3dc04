//! What a connection runs on.

/// What a connection runs on; `#[rpc(transport = "…")]` restricts a method
/// to one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Transport {
    /// A WebSocket connection (two-way: it has a [`Peer`](crate::Peer)).
    WebSocket,
    /// One HTTP request.
    Http,
    /// The in-memory harness, or anything else without a socket.
    Memory,
}
