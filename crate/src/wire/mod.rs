//! Bytes on the wire: protocol ids, codecs and stream adapters, shared by tab and server.

pub mod incoming_frames;
pub mod length_prefixed;
pub mod protocols;
pub mod rendezvous_wire;
pub mod sticky_eof;
pub mod webrtc_sdp;
