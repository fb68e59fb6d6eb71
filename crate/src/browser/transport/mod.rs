//! Transports: WebRTC-direct to servers ([`webrtc_direct`]), WebSocket to servers
//! ([`websocket`]), browser-to-browser WebRTC signalled over the relay ([`webrtc`]), and an
//! `RTCPeerConnection` as a libp2p connection with data channels as streams ([`rtc`]).

pub(crate) mod rtc;
pub(crate) mod webrtc;
pub(crate) mod webrtc_direct;
pub(crate) mod websocket;
