//! The `/webrtc-signaling/0.0.1` message (libp2p WebRTC spec): a protobuf `Message { type,
//! data }`, each prefixed with its length as an unsigned varint.

use bytes::Bytes;
use prost::Message as _;

use crate::wire::length_prefixed::{encode_frame, FrameError, FromFrame, MessageDecoder};

/// Largest message accepted or sent. An SDP with many candidates is a few KiB; anything near
/// this is hostile.
pub const MAX_MESSAGE_LEN: usize = 64 * 1024;

/// One signaling message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Signal {
    /// `RTCSessionDescription.sdp` of the offer.
    Offer(String),
    /// `RTCSessionDescription.sdp` of the answer.
    Answer(String),
    /// `JSON.stringify(RTCIceCandidate.toJSON())`, or `None` for the end of candidates.
    Candidate(Option<String>),
}

#[derive(Clone, PartialEq, prost::Message)]
struct Wire {
    #[prost(enumeration = "WireType", optional, tag = "1")]
    kind: Option<i32>,
    #[prost(string, optional, tag = "2")]
    data: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, prost::Enumeration)]
#[repr(i32)]
enum WireType {
    SdpOffer = 0,
    SdpAnswer = 1,
    IceCandidate = 2,
}

/// Why bytes from the remote are not a valid signaling message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MessageError {
    /// The length prefix is malformed or exceeds [`MAX_MESSAGE_LEN`].
    #[error("signaling stream: {0}")]
    Frame(#[from] FrameError),
    /// The protobuf does not decode.
    #[error("malformed signaling message: {0}")]
    Malformed(String),
    /// A field is missing or has an unknown value.
    #[error("invalid signaling message: {0}")]
    Invalid(&'static str),
}

impl Signal {
    /// The length-prefixed wire form. Panics never; over-long SDP is the caller's to refuse.
    pub fn encode(&self) -> Bytes {
        let (kind, data) = match self {
            Signal::Offer(sdp) => (WireType::SdpOffer, sdp.clone()),
            Signal::Answer(sdp) => (WireType::SdpAnswer, sdp.clone()),
            // js-libp2p marks the end of candidates with the JSON `null`.
            Signal::Candidate(candidate) => (
                WireType::IceCandidate,
                candidate.clone().unwrap_or_else(|| "null".to_owned()),
            ),
        };
        let wire = Wire {
            kind: Some(kind as i32),
            data: Some(data),
        };
        encode_frame(&wire)
    }

    fn from_wire(wire: Wire) -> Result<Self, MessageError> {
        let kind = wire
            .kind
            .and_then(|k| WireType::try_from(k).ok())
            .ok_or(MessageError::Invalid("missing or unknown type"))?;
        let data = wire.data.unwrap_or_default();
        Ok(match kind {
            WireType::SdpOffer if !data.is_empty() => Signal::Offer(data),
            WireType::SdpAnswer if !data.is_empty() => Signal::Answer(data),
            WireType::SdpOffer | WireType::SdpAnswer => {
                return Err(MessageError::Invalid("empty SDP"))
            }
            WireType::IceCandidate => match data.trim() {
                "" | "null" => Signal::Candidate(None),
                _ => Signal::Candidate(Some(data)),
            },
        })
    }
}

/// Reassembles signals from the bytes of a signaling stream.
pub type SignalDecoder = MessageDecoder<Signal>;

impl FromFrame for Signal {
    type Error = MessageError;
    const MAX_LEN: usize = MAX_MESSAGE_LEN;

    fn from_frame(body: Bytes) -> Result<Self, MessageError> {
        let wire = Wire::decode(body).map_err(|e| MessageError::Malformed(e.to_string()))?;
        Signal::from_wire(wire)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::BytesMut;

    fn decode_all(bytes: &[u8]) -> Result<Vec<Signal>, MessageError> {
        let mut decoder = SignalDecoder::default();
        decoder.push(bytes);
        let mut out = Vec::new();
        while let Some(signal) = decoder.next_message()? {
            out.push(signal);
        }
        Ok(out)
    }

    #[test]
    fn round_trips_each_kind_even_byte_by_byte() {
        let signals = vec![
            Signal::Offer("v=0\r\n".into()),
            Signal::Answer("v=0\r\na=x\r\n".into()),
            Signal::Candidate(Some(
                r#"{"candidate":"candidate:1 1 UDP 1 10.0.0.1 5000 typ host","sdpMid":"0"}"#.into(),
            )),
            Signal::Candidate(None),
        ];
        let wire: Vec<u8> = signals.iter().flat_map(|s| s.encode().to_vec()).collect();
        assert_eq!(decode_all(&wire).expect("valid"), signals);
        let mut decoder = SignalDecoder::default();
        let mut out = Vec::new();
        for byte in &wire {
            decoder.push(&[*byte]);
            while let Some(signal) = decoder.next_message().expect("valid") {
                out.push(signal);
            }
        }
        assert_eq!(out, signals);
    }

    #[test]
    fn end_of_candidates_accepts_empty_and_null() {
        let empty = Wire {
            kind: Some(2),
            data: Some(String::new()),
        };
        let mut bytes = BytesMut::new();
        empty.encode_length_delimited(&mut bytes).expect("encodes");
        assert_eq!(
            decode_all(&bytes).expect("valid"),
            vec![Signal::Candidate(None)]
        );
    }

    #[test]
    fn oversized_length_is_refused_before_buffering_the_body() {
        let mut bytes = BytesMut::new();
        prost::encoding::encode_varint((MAX_MESSAGE_LEN + 1) as u64, &mut bytes);
        assert_eq!(
            decode_all(&bytes),
            Err(MessageError::Frame(FrameError::TooLarge {
                len: (MAX_MESSAGE_LEN + 1) as u64,
                max: MAX_MESSAGE_LEN
            }))
        );
    }

    #[test]
    fn malformed_input_is_an_error_not_a_panic() {
        assert!(matches!(
            decode_all(&[3, 0xff, 0xff, 0xff]),
            Err(MessageError::Malformed(_))
        ));
        assert_eq!(
            decode_all(&[0xff; 11]),
            Err(MessageError::Frame(FrameError::BadLength))
        );
        let unknown = Wire {
            kind: Some(9),
            data: Some("x".into()),
        };
        let mut bytes = BytesMut::new();
        unknown
            .encode_length_delimited(&mut bytes)
            .expect("encodes");
        assert!(matches!(decode_all(&bytes), Err(MessageError::Invalid(_))));
        let empty_offer = Wire {
            kind: Some(0),
            data: None,
        };
        let mut bytes = BytesMut::new();
        empty_offer
            .encode_length_delimited(&mut bytes)
            .expect("encodes");
        assert_eq!(decode_all(&bytes), Err(MessageError::Invalid("empty SDP")));
    }

    #[test]
    fn arbitrary_bytes_never_panic() {
        // A cheap deterministic sweep; the fuzz target goes further.
        let mut state = 0x9e37_79b9_u32;
        for _ in 0..20_000 {
            let len = (state % 24) as usize;
            let bytes: Vec<u8> = (0..len)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 17;
                    state ^= state << 5;
                    state as u8
                })
                .collect();
            let _ = decode_all(&bytes);
        }
    }
}
