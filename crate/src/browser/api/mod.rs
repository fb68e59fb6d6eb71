//! What the page calls: [`peer::Peer`], the options objects it reads, and
//! [`qr_code::qr_code_svg`].

pub(crate) mod collection_progress;
pub(crate) mod content;
pub(crate) mod content_options;
pub(crate) mod join_options;
pub mod peer;
pub mod qr_code;
pub(crate) mod save_collection;
pub(crate) mod types;
