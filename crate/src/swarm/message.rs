//! The `/peerfetch/swarm/1` stream between two peers about one resource: the opener names the
//! resource, both announce which pieces they hold, and either requests pieces from the other.
//! Each message is a protobuf prefixed with its varint length, at most [`MAX_MESSAGE_LEN`].

use bytes::Bytes;
use prost::Message as _;

use crate::content::content_id::{ContentId, ContentIdError};
use crate::content::piece_layout::MAX_PIECES;
use crate::content::piece_proof::MAX_ENCODED_PIECE;
use crate::wire::length_prefixed::{encode_frame, FrameError, FromFrame, MessageDecoder};

/// Largest message: one encoded piece and its header.
pub const MAX_MESSAGE_LEN: usize = MAX_ENCODED_PIECE + 64;

/// Largest bitfield: one bit per piece of the largest resource.
pub const MAX_BITFIELD_LEN: usize = MAX_PIECES.div_ceil(8) as usize;

/// One message of a swarm stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SwarmMessage {
    /// First message from the stream's opener: the resource this stream is about.
    Want(ContentId),
    /// Which pieces the sender holds, as bitfield bytes (first piece in the high bit).
    Have(Bytes),
    /// The sender has verified one more piece.
    HavePiece(u32),
    /// Asks for a piece; `id` is the sender's own, echoed by the answer.
    Request {
        /// Request id, unique among the sender's open requests.
        id: u32,
        /// Piece index.
        piece: u32,
    },
    /// A requested piece with its proof.
    Piece {
        /// The request being answered.
        id: u32,
        /// Piece index.
        piece: u32,
        /// The piece's bao encoding: chunk groups interleaved with the hashes that prove them.
        encoded: Bytes,
    },
    /// The sender no longer wants the answer to its request `id`.
    Cancel {
        /// Request id.
        id: u32,
    },
    /// The sender will not answer request `id`.
    Reject {
        /// Request id.
        id: u32,
        /// Why.
        reason: RejectReason,
    },
}

/// Why a request was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RejectReason {
    /// The piece is not held (any more).
    NotHave,
    /// Too many requests are already queued.
    Busy,
}

/// Why bytes from a peer are not a swarm message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SwarmMessageError {
    /// The length prefix is malformed or over the limit.
    #[error("swarm stream: {0}")]
    Frame(#[from] FrameError),
    /// The protobuf does not decode.
    #[error("malformed swarm message: {0}")]
    Malformed(String),
    /// A field is missing, unknown or out of range.
    #[error("invalid swarm message: {0}")]
    Invalid(&'static str),
    /// The content id in `Want` is invalid.
    #[error("invalid content id: {0}")]
    ContentId(#[from] ContentIdError),
}

/// Reassembles swarm messages from the bytes of a stream.
pub type SwarmDecoder = MessageDecoder<SwarmMessage>;

#[derive(Clone, PartialEq, prost::Message)]
struct Wire {
    #[prost(enumeration = "Kind", tag = "1")]
    kind: i32,
    #[prost(uint32, optional, tag = "2")]
    id: Option<u32>,
    #[prost(uint32, optional, tag = "3")]
    piece: Option<u32>,
    #[prost(bytes = "bytes", tag = "4")]
    data: Bytes,
    #[prost(uint64, optional, tag = "5")]
    len: Option<u64>,
    #[prost(enumeration = "WireReason", optional, tag = "6")]
    reason: Option<i32>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, prost::Enumeration)]
#[repr(i32)]
enum Kind {
    Unknown = 0,
    Want = 1,
    Have = 2,
    HavePiece = 3,
    Request = 4,
    Piece = 5,
    Cancel = 6,
    Reject = 7,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, prost::Enumeration)]
#[repr(i32)]
enum WireReason {
    NotHave = 0,
    Busy = 1,
}

impl SwarmMessage {
    /// The length-prefixed wire form.
    pub fn encode(&self) -> Bytes {
        let mut wire = Wire::default();
        match self {
            SwarmMessage::Want(id) => {
                wire.kind = Kind::Want as i32;
                wire.data = Bytes::copy_from_slice(id.hash().as_bytes());
                wire.len = Some(id.len());
            }
            SwarmMessage::Have(bits) => {
                wire.kind = Kind::Have as i32;
                wire.data = bits.clone();
            }
            SwarmMessage::HavePiece(piece) => {
                wire.kind = Kind::HavePiece as i32;
                wire.piece = Some(*piece);
            }
            SwarmMessage::Request { id, piece } => {
                wire.kind = Kind::Request as i32;
                wire.id = Some(*id);
                wire.piece = Some(*piece);
            }
            SwarmMessage::Piece { id, piece, encoded } => {
                wire.kind = Kind::Piece as i32;
                wire.id = Some(*id);
                wire.piece = Some(*piece);
                wire.data = encoded.clone();
            }
            SwarmMessage::Cancel { id } => {
                wire.kind = Kind::Cancel as i32;
                wire.id = Some(*id);
            }
            SwarmMessage::Reject { id, reason } => {
                wire.kind = Kind::Reject as i32;
                wire.id = Some(*id);
                wire.reason = Some(match reason {
                    RejectReason::NotHave => WireReason::NotHave,
                    RejectReason::Busy => WireReason::Busy,
                } as i32);
            }
        }
        encode_frame(&wire)
    }

    fn from_wire(wire: Wire) -> Result<Self, SwarmMessageError> {
        use SwarmMessageError::Invalid;
        let id = || wire.id.ok_or(Invalid("missing request id"));
        let piece = || {
            wire.piece
                .filter(|p| *p < MAX_PIECES)
                .ok_or(Invalid("missing or out-of-range piece index"))
        };
        Ok(match Kind::try_from(wire.kind).unwrap_or(Kind::Unknown) {
            Kind::Unknown => return Err(Invalid("unknown message kind")),
            Kind::Want => {
                let hash: [u8; 32] = wire.data[..]
                    .try_into()
                    .map_err(|_| Invalid("content hash is not 32 bytes"))?;
                let len = wire.len.ok_or(Invalid("missing content length"))?;
                SwarmMessage::Want(ContentId::new(blake3::Hash::from_bytes(hash), len)?)
            }
            Kind::Have if wire.data.len() <= MAX_BITFIELD_LEN => SwarmMessage::Have(wire.data),
            Kind::Have => return Err(Invalid("bitfield longer than any resource")),
            Kind::HavePiece => SwarmMessage::HavePiece(piece()?),
            Kind::Request => SwarmMessage::Request {
                id: id()?,
                piece: piece()?,
            },
            Kind::Piece => SwarmMessage::Piece {
                id: id()?,
                piece: piece()?,
                encoded: wire.data,
            },
            Kind::Cancel => SwarmMessage::Cancel { id: id()? },
            Kind::Reject => SwarmMessage::Reject {
                id: id()?,
                reason: match wire.reason.map(WireReason::try_from) {
                    Some(Ok(WireReason::NotHave)) => RejectReason::NotHave,
                    Some(Ok(WireReason::Busy)) => RejectReason::Busy,
                    _ => return Err(Invalid("missing or unknown reject reason")),
                },
            },
        })
    }
}

impl FromFrame for SwarmMessage {
    type Error = SwarmMessageError;
    const MAX_LEN: usize = MAX_MESSAGE_LEN;

    fn from_frame(body: Bytes) -> Result<Self, SwarmMessageError> {
        let wire = Wire::decode(body).map_err(|e| SwarmMessageError::Malformed(e.to_string()))?;
        Self::from_wire(wire)
    }
}

/// Strategies for property tests and fuzzing of the codec.
#[cfg(test)]
pub(crate) mod strategy {
    use super::*;
    use proptest::prelude::*;

    /// Any valid swarm message.
    pub fn message() -> impl Strategy<Value = SwarmMessage> {
        let piece = 0..MAX_PIECES;
        let bytes = |max| proptest::collection::vec(any::<u8>(), 0..max).prop_map(Bytes::from);
        prop_oneof![
            (
                any::<[u8; 32]>(),
                0..=crate::content::content_id::MAX_CONTENT_LEN
            )
                .prop_map(|(hash, len)| SwarmMessage::Want(
                    ContentId::new(blake3::Hash::from_bytes(hash), len).unwrap()
                )),
            bytes(2048).prop_map(SwarmMessage::Have),
            piece.clone().prop_map(SwarmMessage::HavePiece),
            (any::<u32>(), piece.clone())
                .prop_map(|(id, piece)| SwarmMessage::Request { id, piece }),
            (any::<u32>(), piece, bytes(4096))
                .prop_map(|(id, piece, encoded)| SwarmMessage::Piece { id, piece, encoded }),
            any::<u32>().prop_map(|id| SwarmMessage::Cancel { id }),
            (any::<u32>(), any::<bool>()).prop_map(|(id, busy)| SwarmMessage::Reject {
                id,
                reason: if busy {
                    RejectReason::Busy
                } else {
                    RejectReason::NotHave
                },
            }),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn decode_all(bytes: &[u8]) -> Result<Vec<SwarmMessage>, SwarmMessageError> {
        let mut decoder = SwarmDecoder::default();
        decoder.push(bytes);
        std::iter::from_fn(|| decoder.next_message().transpose()).collect()
    }

    fn framed(wire: &Wire) -> Vec<u8> {
        encode_frame(wire).to_vec()
    }

    #[test]
    fn invalid_fields_are_named() {
        let cases = [
            (Wire::default(), "unknown message kind"),
            (
                Wire {
                    kind: Kind::Request as i32,
                    piece: Some(1),
                    ..Wire::default()
                },
                "missing request id",
            ),
            (
                Wire {
                    kind: Kind::HavePiece as i32,
                    piece: Some(MAX_PIECES),
                    ..Wire::default()
                },
                "missing or out-of-range piece index",
            ),
            (
                Wire {
                    kind: Kind::Want as i32,
                    data: Bytes::from_static(&[1; 31]),
                    len: Some(1),
                    ..Wire::default()
                },
                "content hash is not 32 bytes",
            ),
            (
                Wire {
                    kind: Kind::Reject as i32,
                    id: Some(1),
                    reason: Some(9),
                    ..Wire::default()
                },
                "missing or unknown reject reason",
            ),
            (
                Wire {
                    kind: Kind::Have as i32,
                    data: vec![0; MAX_BITFIELD_LEN + 1].into(),
                    ..Wire::default()
                },
                "bitfield longer than any resource",
            ),
        ];
        for (wire, why) in cases {
            assert_eq!(
                decode_all(&framed(&wire)),
                Err(SwarmMessageError::Invalid(why))
            );
        }
        let too_long = Wire {
            kind: Kind::Want as i32,
            data: Bytes::from_static(&[1; 32]),
            len: Some(u64::MAX),
            ..Wire::default()
        };
        assert_eq!(
            decode_all(&framed(&too_long)),
            Err(SwarmMessageError::ContentId(ContentIdError::Len))
        );
    }

    #[test]
    fn an_oversized_piece_is_refused_from_its_prefix() {
        let mut prefix = Vec::new();
        prost::encoding::encode_varint(MAX_MESSAGE_LEN as u64 + 1, &mut prefix);
        assert!(matches!(
            decode_all(&prefix),
            Err(SwarmMessageError::Frame(FrameError::TooLarge { .. }))
        ));
    }

    #[test]
    fn a_whole_piece_fits_in_a_message() {
        let message = SwarmMessage::Piece {
            id: u32::MAX,
            piece: MAX_PIECES - 1,
            encoded: vec![0xa5; MAX_ENCODED_PIECE].into(),
        };
        assert_eq!(decode_all(&message.encode()), Ok(vec![message]));
    }

    proptest! {
        #[test]
        fn every_message_round_trips_in_any_split(
            messages in proptest::collection::vec(strategy::message(), 0..10),
            cut in 1usize..5000,
        ) {
            let stream: Vec<u8> = messages.iter().flat_map(|m| m.encode().to_vec()).collect();
            let mut decoder = SwarmDecoder::default();
            let mut out = Vec::new();
            for part in stream.chunks(cut) {
                decoder.push(part);
                while let Some(message) = decoder.next_message().unwrap() {
                    out.push(message);
                }
            }
            prop_assert_eq!(out, messages);
        }

        #[test]
        fn arbitrary_bytes_are_messages_or_errors(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
            let _ = decode_all(&bytes);
        }
    }
}
