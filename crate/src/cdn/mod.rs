//! CDN offload, the sans-IO part: the origin's [`manifest::Manifest`] (the trust root), which
//! byte ranges to ask the origin for ([`origin_ranges`]), answering `Range` requests
//! ([`range_request`]), also before the resource is held whole ([`early_range`]), where a
//! page's bytes came from ([`offload_stats`]), and how long to wait on peers before asking the
//! origin ([`peer_patience`]).

pub mod early_range;
pub mod manifest;
pub mod offload_stats;
pub mod origin_ranges;
pub mod peer_patience;
pub mod range_request;
