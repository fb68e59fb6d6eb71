//! Small pieces used across the crate and by the server.

pub mod error_chain;
pub mod qr_code;
pub mod rate_limit;
pub mod rtt_stats;
