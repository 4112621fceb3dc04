//! `rpc-client` against our server: calls, batches, reconnects, the
//! server's calls answered, subscriptions.

mod calls;
mod recovery;
mod subscriptions;
