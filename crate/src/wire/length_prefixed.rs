//! Messages on a byte stream, each prefixed with its length as an unsigned varint (the libp2p
//! convention), reassembled from reads of any size with a hard cap on the length.

use std::marker::PhantomData;

use bytes::{Buf, BufMut, Bytes, BytesMut};

/// Why the bytes on a stream cannot be split into messages. The stream must be reset after one:
/// the position of the next message is lost.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// The length prefix announces more than the limit.
    #[error("message of {len} bytes exceeds the {max}-byte limit")]
    TooLarge {
        /// Announced length.
        len: u64,
        /// The limit.
        max: usize,
    },
    /// The length prefix is not a valid varint.
    #[error("malformed length prefix")]
    BadLength,
}

/// Reassembles length-prefixed messages from a stream.
#[derive(Debug)]
pub struct FrameDecoder {
    buffer: BytesMut,
    max_len: usize,
}

impl FrameDecoder {
    /// A decoder refusing messages longer than `max_len` bytes.
    pub fn new(max_len: usize) -> Self {
        Self {
            buffer: BytesMut::new(),
            max_len,
        }
    }

    /// Appends bytes read from the stream.
    pub fn push(&mut self, bytes: &[u8]) {
        self.buffer.put_slice(bytes);
    }

    /// Bytes held that do not yet form a whole message.
    pub fn buffered(&self) -> usize {
        self.buffer.len()
    }

    /// The next whole message body, `Ok(None)` when more bytes are needed. An oversized
    /// message is refused as soon as its prefix is read, before its body is buffered.
    pub fn next_frame(&mut self) -> Result<Option<Bytes>, FrameError> {
        let mut peek = &self.buffer[..];
        let len = match prost::encoding::decode_varint(&mut peek) {
            Ok(len) => len,
            // Up to 10 bytes of varint; fewer may simply be incomplete.
            Err(_)
                if self.buffer.len() < 10 && self.buffer.last().is_none_or(|b| b & 0x80 != 0) =>
            {
                return Ok(None)
            }
            Err(_) => return Err(FrameError::BadLength),
        };
        if len > self.max_len as u64 {
            return Err(FrameError::TooLarge {
                len,
                max: self.max_len,
            });
        }
        let prefix = self.buffer.len() - peek.len();
        let len = len as usize;
        if peek.len() < len {
            return Ok(None);
        }
        self.buffer.advance(prefix);
        let body = self.buffer.split_to(len).freeze();
        if self.buffer.is_empty() {
            // The message shares the buffer's allocation: an idle stream's decoder must not
            // keep the last (up to a piece long) message's memory alive once it is dropped.
            self.buffer = BytesMut::new();
        }
        Ok(Some(body))
    }
}

/// A message type read from length-prefixed frames.
pub trait FromFrame: Sized {
    /// Why a frame is not a valid message (including framing errors).
    type Error: From<FrameError>;
    /// Longest frame accepted.
    const MAX_LEN: usize;
    /// Decodes one frame's body.
    fn from_frame(body: Bytes) -> Result<Self, Self::Error>;
}

/// Reassembles messages of type `M` from the bytes of a stream, in whatever pieces they come.
#[derive(Debug)]
pub struct MessageDecoder<M> {
    frames: FrameDecoder,
    message: PhantomData<M>,
}

impl<M: FromFrame> Default for MessageDecoder<M> {
    fn default() -> Self {
        Self {
            frames: FrameDecoder::new(M::MAX_LEN),
            message: PhantomData,
        }
    }
}

impl<M: FromFrame> MessageDecoder<M> {
    /// Appends bytes read from the stream.
    pub fn push(&mut self, bytes: &[u8]) {
        self.frames.push(bytes);
    }

    /// Bytes held that do not yet form a whole message.
    pub fn buffered(&self) -> usize {
        self.frames.buffered()
    }

    /// The next whole message, `Ok(None)` when more bytes are needed. After an error the stream
    /// must be reset: the decoder's position is lost.
    pub fn next_message(&mut self) -> Result<Option<M>, M::Error> {
        match self.frames.next_frame()? {
            Some(body) => M::from_frame(body).map(Some),
            None => Ok(None),
        }
    }
}

/// The length-prefixed wire form of a protobuf message.
pub fn encode_frame(message: &impl prost::Message) -> Bytes {
    let mut out = BytesMut::with_capacity(message.encoded_len() + 10);
    message
        .encode_length_delimited(&mut out)
        .expect("BytesMut grows as needed");
    out.freeze()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn framed(body: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        prost::encoding::encode_varint(body.len() as u64, &mut out);
        out.extend_from_slice(body);
        out
    }

    #[test]
    fn an_idle_decoder_keeps_no_memory_of_the_last_message() {
        let mut decoder = FrameDecoder::new(2 << 20);
        decoder.push(&framed(&vec![7; 1 << 20]));
        let body = decoder.next_frame().unwrap().unwrap();
        assert_eq!(body.len(), 1 << 20);
        assert!(
            body.is_unique(),
            "the decoder holds nothing of the message's memory"
        );
        // Bytes of the next message stay, in a buffer of their own.
        decoder.push(&framed(b"abc")[..2]);
        assert_eq!(decoder.next_frame().unwrap(), None);
        assert!(decoder.buffer.capacity() < 1 << 10);
    }

    #[test]
    fn oversized_and_malformed_prefixes_are_errors() {
        let mut decoder = FrameDecoder::new(100);
        decoder.push(&framed(&[7; 101])[..3]);
        assert_eq!(
            decoder.next_frame(),
            Err(FrameError::TooLarge { len: 101, max: 100 })
        );
        let mut decoder = FrameDecoder::new(100);
        decoder.push(&[0xff; 11]);
        assert_eq!(decoder.next_frame(), Err(FrameError::BadLength));
    }

    proptest! {
        #[test]
        fn messages_survive_any_split(
            bodies in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..300), 0..8),
            cut in 1usize..64,
        ) {
            let stream: Vec<u8> = bodies.iter().flat_map(|b| framed(b)).collect();
            let mut decoder = FrameDecoder::new(300);
            let mut out = Vec::new();
            for part in stream.chunks(cut) {
                decoder.push(part);
                while let Some(frame) = decoder.next_frame().unwrap() {
                    out.push(frame.to_vec());
                }
            }
            prop_assert_eq!(out, bodies);
            prop_assert_eq!(decoder.buffered(), 0);
        }
    }
}
