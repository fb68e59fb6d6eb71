//! Our libp2p WebRTC-direct transport (tab to server). See [`connection`] for why it replaces
//! the upstream websys one.

mod connection;
mod data_channel;
#[cfg(test)]
mod local_pair;
mod transport;

pub(crate) use transport::WebRtcDirectTransport;
