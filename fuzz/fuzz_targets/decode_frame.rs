//! The `decode_frame` fuzz target: see `harness::decode_frame`.

#![no_main]

#[path = "../harness.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::decode_frame(data));
