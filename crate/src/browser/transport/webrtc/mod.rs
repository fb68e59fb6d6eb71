//! Browser-to-browser WebRTC (`/webrtc`): signaling over a relayed libp2p connection, then a
//! direct `RTCPeerConnection` carrying libp2p streams.

mod negotiate;
mod transport;

pub(crate) use transport::WebRtcTransport;
