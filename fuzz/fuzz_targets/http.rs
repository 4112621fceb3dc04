//! Any bytes as a client's side of one connection: HTTP requests and
//! WebSocket upgrades through the real handling, over an in-memory stream.

#![no_main]

#[path = "../harness/http.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::run(data));
