//! The browser side: a libp2p swarm in the tab and the JS API around it (wasm32 only).
//!
//! [`Peer::join`] fetches the server's `/bootstrap`, dials it over WebRTC-direct (WebSocket when
//! that fails; another server of the network when it is down), reserves a relay slot, then
//! hands the swarm to a task that runs until [`Peer::close`] (and moves to another server when
//! its own goes away). The page reads state through `connections()`/`stats()` and listens to events
//! on `peer.events`.

mod behaviour;
mod cdn;
mod clock;
mod command;
mod content_options;
mod content_service;
mod content_store;
mod direct_links;
mod echo;
mod events;
mod fetch_bootstrap;
mod home;
mod join;
mod join_options;
mod js_error;
mod js_listener;
mod js_value;
mod membership;
mod peer;
mod providers;
mod rtc;
mod share;
mod swarm_link;
mod tab_node;
mod tab_state;
mod throughput;
mod timeout;
mod webrtc;
mod webrtc_direct;

pub use peer::Peer;
