//! Any frame into the entry point, with a `#[rpc_service]` service behind
//! it: never a panic, and a reply is always well-formed JSON.

#![no_main]

#[path = "../harness/frame.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::run(data));
