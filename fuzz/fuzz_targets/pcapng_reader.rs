//! The `pcapng_reader` fuzz target: see `harness::pcapng_reader`.

#![no_main]

#[path = "../harness.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::pcapng_reader(data));
