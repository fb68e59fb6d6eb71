//! peerfetch: a libp2p WebRTC mesh between browser tabs, bootstrapped by `peerfetch-server`.
//!
//! The pure logic (the bootstrap document, transport naming, ping statistics) is sans-IO and
//! builds natively so it is tested with `cargo test`. The browser glue — the libp2p swarm in the
//! tab and the wasm-bindgen JS API — lives in [`browser`] and only exists on `wasm32`.
#![cfg_attr(not(target_arch = "wasm32"), forbid(unsafe_code))]
#![warn(missing_docs)]
#![deny(clippy::wildcard_imports)]

pub mod cdn;
pub mod content;
pub mod net;
pub mod signaling;
pub mod swarm;
pub mod util;
pub mod wire;

#[cfg(target_arch = "wasm32")]
pub mod browser;

#[cfg(all(test, target_arch = "wasm32"))]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);
