//! The cross-crate tests, as one binary: the server over real sockets, the
//! client against it, the macros' behaviour, and hostile peers. Tests that
//! measure the process itself (memory, descriptors, soak, churn) keep
//! binaries of their own, as do the UI snapshots and the fuzz corpus.

#[path = "../common/mod.rs"]
mod common;
#[path = "../../../examples/tests/common/node.rs"]
mod node;

mod client;
mod hardening;
mod macros;
mod server;
