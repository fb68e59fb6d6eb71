//! `RTCPeerConnection`s as libp2p connections: each libp2p stream is a data channel framed per
//! the libp2p WebRTC spec. Shared by the WebRTC-direct (tab to server) and the browser-to-browser
//! WebRTC transports. See [`connection`] for why we do not use the upstream websys transport.

pub(crate) mod connection;
mod data_channel;
mod outbound_hold;
pub(crate) use data_channel::live_data_channels;
#[cfg(test)]
pub(crate) mod local_pair;
mod selected_path;
pub(crate) use selected_path::{note_path, path_to};

pub(crate) use connection::{
    close_all_peer_connections, live_peer_connections, Connection, ConnectionError, PeerConnection,
};
