//! Resources in the tab: sharing a file ([`share`]), the content service that carries out the
//! swarms' decisions ([`service`]), one swarm stream ([`link`]), the OPFS store ([`store`]),
//! and `peer.fetch` for sites ([`cdn`]).

pub(crate) mod cdn;
pub(crate) mod cipher;
pub(crate) mod link;
pub(crate) mod open_sealed;
pub(crate) mod save_target;
pub(crate) mod service;
pub(crate) mod share;
pub(crate) mod share_source;
pub(crate) mod store;
#[cfg(test)]
mod store_tests;
