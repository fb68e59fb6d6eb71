//! The swarm, sans-IO: the message exchange between peers holding parts of one resource, and
//! the download that pulls pieces from many of them at once.

pub mod download;
pub mod message;
pub mod upload_queue;
