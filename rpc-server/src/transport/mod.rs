//! Transports: how frames reach the protocol engine.

pub(crate) mod ws;
