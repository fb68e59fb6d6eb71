//! What the page calls: [`peer::Peer`] and the options objects it reads.

pub(crate) mod content;
pub(crate) mod content_options;
pub(crate) mod join_options;
pub mod peer;
pub(crate) mod types;
