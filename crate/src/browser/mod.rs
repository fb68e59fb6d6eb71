//! The browser side: a libp2p swarm in the tab and the JS API around it (wasm32 only). It
//! carries out what the sans-IO state machines of the crate decide, against libp2p, WebRTC,
//! OPFS and `fetch`.
//!
//! - [`api`]: what the page calls (`Peer` and its options).
//! - `node`: the tab's libp2p swarm task: joining, membership, providers, direct links, moving
//!   to another server.
//! - `content`: sharing, the content service carrying out the swarms, the store, `peer.fetch`.
//! - `transport`: WebRTC-direct to servers, browser-to-browser WebRTC, data channels as streams.
//! - `js`: small bridges to JS (time, errors, events, listeners, timeouts).

pub mod api;
mod content;
mod js;
mod node;
mod transport;

pub use api::peer::Peer;
