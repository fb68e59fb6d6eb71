//! CDN offload, the sans-IO part: the origin's [`manifest::Manifest`] (the trust root), which
//! byte ranges to ask the origin for ([`origin_ranges`]), answering `Range` requests
//! ([`range_request`]), and where a page's bytes came from ([`offload_stats`]).

pub mod manifest;
pub mod offload_stats;
pub mod origin_ranges;
pub mod range_request;
