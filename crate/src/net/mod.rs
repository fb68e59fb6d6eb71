//! Connection policy, sans-IO: how a tab reaches servers and other tabs, whom it links to, and
//! when it retries. The decisions live here; `browser/` carries them out.

pub mod attach;
pub mod backoff;
pub mod bootstrap;
pub mod direct_dial;
pub mod direct_streams;
pub mod endpoint;
pub mod home;
pub mod ice_path;
pub mod ice_renewal;
pub mod ice_server;
pub mod membership;
pub mod mesh;
pub mod neighbour_links;
pub mod prompt_ping;
pub mod providers;
pub mod relay_book;
pub mod transport_kind;
