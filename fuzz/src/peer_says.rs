//! What a peer says, as arbitrary choices turned into real [`SwarmMessage`]s about a
//! [`Resource`]: the genuine article when the fuzzer picks it, and the ways of getting it wrong
//! otherwise. Only messages the wire decoder can produce are made (piece indices below
//! `MAX_PIECES`, bitfields no longer than `MAX_BITFIELD_LEN`).

use arbitrary::Arbitrary;
use bytes::Bytes;
use peerfetch::content::bitfield::Bitfield;
use peerfetch::content::content_id::ContentId;
use peerfetch::content::piece_layout::MAX_PIECES;
use peerfetch::swarm::message::{RejectReason, SwarmMessage, MAX_BITFIELD_LEN};

use crate::ledger::Asked;
use crate::resource::Resource;

/// A set of pieces, or bytes claiming to be one.
#[derive(Arbitrary, Debug, Clone)]
pub enum Bits {
    /// No piece.
    Empty,
    /// Every piece.
    Full,
    /// The pieces whose bit is set in the mask (piece 0 in the lowest bit).
    Mask(u8),
    /// Raw wire bytes: of any length, with spare bits set or not.
    Raw(Vec<u8>),
}

impl Bits {
    /// As a bitfield of `pieces` (raw bytes that are not one count as no piece).
    pub fn field(&self, pieces: u32) -> Bitfield {
        match self {
            Bits::Empty => Bitfield::empty(pieces),
            Bits::Full => Bitfield::full(pieces),
            Bits::Mask(mask) => {
                let mut field = Bitfield::empty(pieces);
                for index in (0..pieces.min(8)).filter(|i| mask & (1 << i) != 0) {
                    field.insert(index);
                }
                field
            }
            Bits::Raw(bytes) => {
                Bitfield::from_bytes(bytes, pieces).unwrap_or_else(|_| Bitfield::empty(pieces))
            }
        }
    }

    /// As the bytes of a `Have` about a resource of `pieces`.
    pub fn wire(&self, pieces: u32) -> Bytes {
        match self {
            Bits::Raw(bytes) => Bytes::copy_from_slice(&bytes[..bytes.len().min(MAX_BITFIELD_LEN)]),
            bits => Bytes::copy_from_slice(bits.field(pieces).as_bytes()),
        }
    }
}

/// A piece index: one of the resource's, or one past its end.
#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum PieceRef {
    /// A piece of the resource (modulo the count).
    In(u8),
    /// This far past the last piece (still below `MAX_PIECES`, as the decoder ensures).
    Past(u32),
}

impl PieceRef {
    /// The index in a resource of `pieces`.
    pub fn index(self, pieces: u32) -> u32 {
        match self {
            PieceRef::In(i) => u32::from(i) % pieces.max(1),
            PieceRef::Past(n) => pieces.saturating_add(n).min(MAX_PIECES - 1),
        }
    }
}

/// The bytes sent as a piece's encoding.
#[derive(Arbitrary, Debug, Clone)]
pub enum PieceBody {
    /// The true encoding of the piece named.
    Genuine,
    /// The true encoding of another piece.
    Other(PieceRef),
    /// The true encoding with one byte changed (data or proof).
    Flipped {
        /// Where (modulo the length).
        at: u32,
        /// XORed into the byte (0 counts as 1).
        xor: u8,
    },
    /// The true encoding cut short.
    Cut(u32),
    /// The true encoding with bytes after it.
    Padded(Vec<u8>),
    /// Anything.
    Junk(Vec<u8>),
}

impl PieceBody {
    /// The bytes sent as piece `index` of `resource`.
    pub fn bytes(&self, resource: &Resource, index: u32) -> Bytes {
        let genuine = |index| resource.encoded(index).cloned().unwrap_or_default();
        match self {
            PieceBody::Genuine => genuine(index),
            PieceBody::Other(other) => genuine(other.index(resource.pieces())),
            PieceBody::Flipped { at, xor } => {
                let mut bytes = genuine(index).to_vec();
                if !bytes.is_empty() {
                    let at = *at as usize % bytes.len();
                    bytes[at] ^= (*xor).max(1);
                }
                bytes.into()
            }
            PieceBody::Cut(len) => {
                let bytes = genuine(index);
                bytes.slice(..(*len as usize).min(bytes.len().saturating_sub(1)))
            }
            PieceBody::Padded(tail) => {
                let mut bytes = genuine(index).to_vec();
                bytes.extend_from_slice(if tail.is_empty() { &[0] } else { tail });
                bytes.into()
            }
            PieceBody::Junk(bytes) => Bytes::copy_from_slice(bytes),
        }
    }
}

/// Which request a peer answers.
#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum RequestRef {
    /// One of the requests open at it (modulo their number; a made-up id if none is).
    Open(u8),
    /// Any id at all (unsolicited, or a request answered or cancelled already).
    Any(u32),
}

impl RequestRef {
    /// The request id, and the request if it is one of `open`.
    pub fn resolve(self, open: &[Asked]) -> (u32, Option<Asked>) {
        match self {
            RequestRef::Open(k) if !open.is_empty() => {
                let asked = open[k as usize % open.len()];
                (asked.id, Some(asked))
            }
            RequestRef::Open(k) => (u32::from(k), None),
            RequestRef::Any(id) => (id, open.iter().find(|a| a.id == id).copied()),
        }
    }
}

/// A content id named in a `Want`.
#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum WantRef {
    /// One of the resources the target knows (modulo their number).
    Known(u8),
    /// A resource nobody has, of this length.
    Stranger(u16),
}

impl WantRef {
    /// The content id, among the `known` ones or made up.
    pub fn id(self, known: &[ContentId]) -> ContentId {
        match self {
            WantRef::Known(k) => known
                .get(k as usize % known.len().max(1))
                .copied()
                .unwrap_or_else(|| stranger(k.into())),
            WantRef::Stranger(len) => stranger(len),
        }
    }
}

fn stranger(len: u16) -> ContentId {
    let hash = blake3::hash(&len.to_le_bytes());
    ContentId::new(hash, u64::from(len)).expect("a short length")
}

/// One message from a peer.
#[derive(Arbitrary, Debug, Clone)]
pub enum PeerMessage {
    /// Its bitfield (of any shape).
    Have(Bits),
    /// One more piece it holds (or says it does).
    HavePiece(PieceRef),
    /// A piece: for a request of ours (the piece asked for unless `piece` names another) or
    /// unsolicited, with genuine or forged bytes.
    Piece {
        /// The request it answers.
        request: RequestRef,
        /// The piece index it claims, if not the one asked for.
        piece: Option<PieceRef>,
        /// The bytes.
        body: PieceBody,
    },
    /// Refuses a request of ours.
    Reject {
        /// The request.
        request: RequestRef,
        /// Busy rather than not held.
        busy: bool,
    },
    /// Asks us for a piece (ids are small so that cancels and duplicates meet).
    Request {
        /// Its request id.
        id: u8,
        /// The piece.
        piece: PieceRef,
    },
    /// Cancels one of its requests.
    Cancel(u8),
    /// Names a resource (only the first message of a stream may).
    Want(WantRef),
}

impl PeerMessage {
    /// The message about `resource` (one of `known`), given the requests open at this peer.
    pub fn message(
        &self,
        resource: &Resource,
        known: &[ContentId],
        open: &[Asked],
    ) -> SwarmMessage {
        let pieces = resource.pieces();
        match self {
            PeerMessage::Have(bits) => SwarmMessage::Have(bits.wire(pieces)),
            PeerMessage::HavePiece(piece) => SwarmMessage::HavePiece(piece.index(pieces)),
            PeerMessage::Piece {
                request,
                piece,
                body,
            } => {
                let (id, asked) = request.resolve(open);
                let index = match (piece, asked) {
                    (Some(piece), _) => piece.index(pieces),
                    (None, Some(asked)) => asked.piece,
                    (None, None) => u32::from(id as u8) % pieces.max(1),
                };
                let encoded = body.bytes(resource, index);
                SwarmMessage::Piece {
                    id,
                    piece: index,
                    encoded,
                }
            }
            PeerMessage::Reject { request, busy } => SwarmMessage::Reject {
                id: request.resolve(open).0,
                reason: if *busy {
                    RejectReason::Busy
                } else {
                    RejectReason::NotHave
                },
            },
            PeerMessage::Request { id, piece } => SwarmMessage::Request {
                id: u32::from(*id),
                piece: piece.index(pieces),
            },
            PeerMessage::Cancel(id) => SwarmMessage::Cancel { id: u32::from(*id) },
            PeerMessage::Want(want) => SwarmMessage::Want(want.id(known)),
        }
    }
}

/// The request id a message from a peer answers (a piece or a reject), if it answers one.
pub fn answers(message: &SwarmMessage) -> Option<u32> {
    match message {
        SwarmMessage::Piece { id, .. } | SwarmMessage::Reject { id, .. } => Some(*id),
        _ => None,
    }
}
