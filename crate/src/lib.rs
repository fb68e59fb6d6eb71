//! peerfetch: a libp2p WebRTC mesh between browser tabs, bootstrapped by `peerfetch-server`.
//!
//! Every decision is sans-IO and builds natively, so it is tested with `cargo test`: wire codecs
//! and protocol ids ([`wire`]), connection policy ([`net`]), content addressing ([`content`]), the
//! piece exchange and each resource's swarm ([`swarm`]), CDN offload ([`cdn`]), WebRTC signaling
//! ([`signaling`]), the JS API's errors ([`error`]). The browser glue — the libp2p swarm in the
//! tab and the wasm-bindgen JS API — lives in `browser` and only exists on `wasm32`; it carries
//! out what those state machines decide. See ARCHITECTURE.md.
#![cfg_attr(not(target_arch = "wasm32"), forbid(unsafe_code))]
#![warn(missing_docs)]
#![deny(clippy::wildcard_imports)]

pub mod cdn;
pub mod content;
pub mod error;
pub mod net;
pub mod signaling;
pub mod swarm;
pub mod util;
pub mod wire;

#[cfg(target_arch = "wasm32")]
pub mod browser;

#[cfg(all(test, target_arch = "wasm32"))]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);
