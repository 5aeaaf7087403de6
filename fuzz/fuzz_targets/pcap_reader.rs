//! The `pcap_reader` fuzz target: see `harness::pcap_reader`.

#![no_main]

#[path = "../harness.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::pcap_reader(data));
