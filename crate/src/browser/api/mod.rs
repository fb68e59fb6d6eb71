//! What the page calls: [`peer::Peer`] and the options objects it reads.

pub(crate) mod collection_progress;
pub(crate) mod content;
pub(crate) mod content_options;
pub(crate) mod join_options;
pub mod peer;
pub(crate) mod save_collection;
pub(crate) mod types;
