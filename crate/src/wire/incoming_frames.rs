//! Watches the frames arriving on a WebRTC data channel (the libp2p WebRTC spec's framing):
//! drops `FIN_ACK` frames, and notes the frame after which the remote writes nothing more.
//!
//! The libp2p WebRTC spec added a `FIN_ACK` flag (3) that js-libp2p sends when it receives our
//! `FIN`. `libp2p-webrtc-utils` 0.5, whose framing we use, predates it and fails the whole stream
//! on the unknown value ("unknown enumeration value 3"). A `FIN_ACK` carries nothing we need (we
//! do not wait for it), so frames that are exactly `{ flag: FIN_ACK }` are removed before the
//! framing sees them. Everything else passes through unchanged, in whole frames; bytes that do not
//! parse as frames pass through as they are, for the framing to reject with its own error.
//!
//! A frame flagged `FIN` or `RESET` is the remote's last: the channel may close only after it
//! (see `rtc/data_channel.rs` for why). The framing crate keeps its parsed flags to itself, so
//! this filter, which parses the frames anyway, tells.

use bytes::BytesMut;

/// A frame's body when it is only `flag = FIN_ACK` (field 1, varint 3).
const FIN_ACK_BODY: [u8; 2] = [0x08, 0x03];
/// The spec's `flag` values after which the sender writes nothing more.
const FIN: u64 = 0;
const RESET: u64 = 2;
/// Largest frame body a peer may send (the spec's 16 KiB message limit).
const MAX_BODY: u64 = 16 * 1024;

/// Streaming filter over the bytes of one data channel.
#[derive(Debug, Default)]
pub struct IncomingFrames {
    pending: BytesMut,
    passthrough: bool,
    remote_finished: bool,
}

impl IncomingFrames {
    /// Whether a frame flagged `FIN` or `RESET` came: the remote writes nothing after it.
    pub fn remote_finished(&self) -> bool {
        self.remote_finished
    }

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
            let body = &peek[..len];
            if body != FIN_ACK_BODY {
                self.remote_finished |= matches!(flag_of(body), Some(FIN | RESET));
                out.extend_from_slice(&bytes[at..end]);
            }
            at = end;
        }
        at
    }
}

/// The `flag` field (1, a varint) of a frame's body, if it has one; `None` also for a body that
/// does not parse (the framing rejects it).
fn flag_of(mut body: &[u8]) -> Option<u64> {
    use prost::encoding::{decode_key, decode_varint, WireType};
    let mut flag = None;
    while !body.is_empty() {
        let (tag, wire_type) = decode_key(&mut body).ok()?;
        match wire_type {
            WireType::Varint => {
                let value = decode_varint(&mut body).ok()?;
                if tag == 1 {
                    flag = Some(value);
                }
            }
            WireType::LengthDelimited => {
                let len = usize::try_from(decode_varint(&mut body).ok()?).ok()?;
                body = body.get(len..)?;
            }
            _ => return None,
        }
    }
    flag
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
        let mut filter = IncomingFrames::default();
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
    fn a_fin_or_reset_frame_is_the_remotes_last() {
        let data = frame(&[0x12, 0x03, b'a', b'b', b'c']);
        let stop_sending = frame(&[0x08, 0x01]);
        let fin_with_message = frame(&[0x12, 0x01, b'z', 0x08, 0x00]);
        for (last, finished) in [
            (frame(&[0x08, 0x00]), true),
            (frame(&[0x08, 0x02]), true),
            (fin_with_message, true),
            (frame(&FIN_ACK_BODY), false),
            (stop_sending.clone(), false),
            (frame(&[0x12, 0x02, 0x08, 0x00]), false), // message: [8, 0]
        ] {
            let mut filter = IncomingFrames::default();
            let mut out = BytesMut::new();
            filter.push(&data, &mut out);
            filter.push(&stop_sending, &mut out);
            assert!(!filter.remote_finished());
            // Cut in two: only the whole frame counts.
            let (head, tail) = last.split_at(last.len() - 1);
            filter.push(head, &mut out);
            assert!(!filter.remote_finished());
            filter.push(tail, &mut out);
            assert_eq!(filter.remote_finished(), finished, "{last:?}");
        }
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
