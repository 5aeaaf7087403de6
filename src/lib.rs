//! isatap-trace: follows manage-out pings and traceroutes through ISATAP, 6to4,
//! 6in4 and Teredo tunnels across capture points and says where they died.
//!
//! Data flows one way: [`capture`] frames → [`decode`] layers → flow
//! observations → findings → report.

// No unsafe code, with two audited exceptions, each saying why: reading the
// AF_PACKET drop counter (`capture::live::packet_stats`) and the cache
// prefetch hint of the flow index and the summaries (`flow::prefetch`). A test
// (tests/unsafe_audit.rs) fails if any other module allows it.
#![deny(unsafe_code)]

pub mod capture;
pub mod cli;
pub mod commands;
pub mod decode;
pub mod diagnose;
pub mod error;
pub mod flow;
pub mod parallel;
pub mod redact;
pub mod report;
pub mod synth;
pub mod topology;
