//! Any params into the typed decoders, by position and by name: never a
//! panic; a failure is always INVALID_PARAMS.

#![no_main]

#[path = "../harness/params.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::run(data));
