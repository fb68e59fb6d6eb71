//! The tab's libp2p swarm task ([`tab_node::TabNode`]) and the glue that carries out the
//! connection policy of `crate::net`: joining a server, swarm membership, provider records,
//! direct links to other tabs, moving to another server; plus the echo and throughput test
//! protocols.

pub(crate) mod answers;
pub(crate) mod behaviour;
pub(crate) mod bootstrap_request;
pub(crate) mod command;
pub(crate) mod direct_links;
pub(crate) mod echo;
pub(crate) mod home;
pub(crate) mod ice_config;
pub(crate) mod ice_servers;
pub(crate) mod join;
pub(crate) mod membership;
pub(crate) mod network_servers;
pub(crate) mod providers;
pub(crate) mod tab_node;
pub(crate) mod tab_state;
pub(crate) mod throughput;
