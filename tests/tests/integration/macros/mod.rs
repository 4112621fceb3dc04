//! What `#[rpc_service]` generates, run through the protocol engine:
//! methods, parameters, the specification's examples, the OpenRPC document.

mod methods;
mod openrpc;
mod params;
mod spec_examples;
