//! Browser-to-browser WebRTC signaling (`/webrtc-signaling/0.0.1`), sans-IO.
//!
//! Tab A (the dialer) opens a relayed connection to tab B through the server, opens a signaling
//! stream and sends its SDP offer; B answers; both then trickle ICE candidates until the direct
//! `RTCPeerConnection` connects, close the stream, and the relayed connection is dropped.

pub mod ice_candidates;
pub mod message;
pub mod session;
