//! The service's description: each method's metadata and schemas, and the
//! OpenRPC document built from them.

pub(crate) mod metadata;
pub(crate) mod openrpc;
