//! `peerfetch-server` as a library: [`Server::bind`] opens every listener (so tests can bind
//! port 0 and run servers side by side), [`Server::run`] serves until shut down.
#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![deny(clippy::wildcard_imports)]

pub mod address_budget;
mod advertised;
mod behaviour;
pub mod circuit_caps;
pub mod cli;
pub mod discovery;
pub mod federation;
mod heap_handler;
mod http;
pub mod http_serve;
pub mod identity_file;
pub mod ip_key;
pub mod ip_limits;
pub mod metrics;
pub mod node;
mod origin_bytes;
pub mod peer_rate;
pub mod rate_flag;
pub mod registry;
pub mod relay_gate;
mod rendezvous_codec;
pub mod server_set;
pub mod servers_only;
pub mod site_manifest;
pub mod stun_rate;
pub mod stun_server;
pub mod tls;
pub mod turn_credentials;
pub mod websocket;

pub use cli::Cli;
pub use node::{Server, ServerError};
