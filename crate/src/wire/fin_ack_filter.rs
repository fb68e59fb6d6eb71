//! Drops `FIN_ACK` frames from a WebRTC data channel's incoming bytes.
//!
//! The libp2p WebRTC spec added a `FIN_ACK` flag (3) that js-libp2p sends when it receives our
//! `FIN`. `libp2p-webrtc-utils` 0.5, whose framing we use, predates it and fails the whole stream
//! on the unknown value ("unknown enumeration value 3"). A `FIN_ACK` carries nothing we need (we
//! do not wait for it), so frames that are exactly `{ flag: FIN_ACK }` are removed before the
//! framing sees them. Everything else passes through unchanged, in whole frames; bytes that do not
//! parse as frames pass through as they are, for the framing to reject with its own error.

use bytes::BytesMut;

/// A frame's body when it is only `flag = FIN_ACK` (field 1, varint 3).
const FIN_ACK_BODY: [u8; 2] = [0x08, 0x03];
/// Largest frame body a peer may send (the spec's 16 KiB message limit).
const MAX_BODY: u64 = 16 * 1024;

/// Streaming filter over the bytes of one data channel.
#[derive(Debug, Default)]
pub struct FinAckFilter {
    pending: BytesMut,
    passthrough: bool,
}

impl FinAckFilter {
    /// Feeds bytes as received; appends to `out` every complete frame that is not a `FIN_ACK`.
    /// Whole frames are copied straight from `bytes`; only a frame cut at the end waits.
    pub fn push(&mut self, bytes: &[u8], out: &mut BytesMut) {
        if self.passthrough {
            out.extend_from_slice(bytes);
        } else if self.pending.is_empty() {
            let used = self.drain_frames(bytes, out);
            self.pending.extend_from_slice(&bytes[used..]);
        } else {
            self.pending.extend_from_slice(bytes);
            let pending = self.pending.split();
            let used = self.drain_frames(&pending, out);
            self.pending.extend_from_slice(&pending[used..]);
        }
    }

    /// Moves the complete frames at the start of `bytes` to `out` (dropping `FIN_ACK`s) and
    /// returns how many bytes it used.
    fn drain_frames(&mut self, bytes: &[u8], out: &mut BytesMut) -> usize {
        let mut at = 0;
        while at < bytes.len() {
            let mut peek = &bytes[at..];
            let len = match prost::encoding::decode_varint(&mut peek) {
                Ok(len) if len <= MAX_BODY => len as usize,
                Err(_) if bytes.len() - at < 10 => return at, // maybe an incomplete varint
                _ => {
                    self.passthrough = true;
                    out.extend_from_slice(&bytes[at..]);
                    return bytes.len();
                }
            };
            if peek.len() < len {
                return at;
            }
            let end = bytes.len() - peek.len() + len;
            if peek[..len] != FIN_ACK_BODY {
                out.extend_from_slice(&bytes[at..end]);
            }
            at = end;
        }
        at
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(body: &[u8]) -> Vec<u8> {
        let mut out = BytesMut::new();
        prost::encoding::encode_varint(body.len() as u64, &mut out);
        out.extend_from_slice(body);
        out.to_vec()
    }

    fn filter_all(chunks: &[&[u8]]) -> Vec<u8> {
        let mut filter = FinAckFilter::default();
        let mut out = BytesMut::new();
        for chunk in chunks {
            filter.push(chunk, &mut out);
        }
        out.to_vec()
    }

    #[test]
    fn removes_fin_ack_frames_and_keeps_the_rest_in_order() {
        let data = frame(&[0x12, 0x03, b'a', b'b', b'c']); // message: "abc"
        let fin = frame(&[0x08, 0x00]);
        let fin_ack = frame(&FIN_ACK_BODY);
        let wire = [data.clone(), fin_ack.clone(), fin.clone(), fin_ack].concat();
        assert_eq!(filter_all(&[&wire]), [data.clone(), fin.clone()].concat());
        // Byte by byte, the same.
        let bytes: Vec<&[u8]> = wire.chunks(1).collect();
        assert_eq!(filter_all(&bytes), [data, fin].concat());
    }

    #[test]
    fn a_message_that_merely_contains_the_bytes_is_kept() {
        let data = frame(&[0x12, 0x02, 0x08, 0x03]); // message: [8, 3]
        assert_eq!(filter_all(&[&data]), data);
    }

    #[test]
    fn garbage_passes_through_for_the_framing_to_reject() {
        let garbage = [0xff; 12];
        assert_eq!(
            filter_all(&[&garbage, b"more"]),
            [&garbage[..], b"more"].concat()
        );
        let mut too_long = BytesMut::new();
        prost::encoding::encode_varint(MAX_BODY + 1, &mut too_long);
        assert_eq!(filter_all(&[&too_long]), too_long.to_vec());
    }
}
