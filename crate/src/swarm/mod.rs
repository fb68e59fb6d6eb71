//! The swarm, sans-IO: the message exchange between peers holding parts of one resource, the
//! download that pulls pieces from many of them at once, and the state of each resource a tab
//! holds or fetches ([`resource::ResourceSwarm`], [`tab::TabSwarms`]), and the peers that could
//! not be reached ([`unreachable::Unreachable`]).

pub mod ban_list;
pub mod download;
pub mod message;
pub mod progress;
pub mod resource;
pub mod tab;
pub mod unreachable;
pub mod upload_queue;
