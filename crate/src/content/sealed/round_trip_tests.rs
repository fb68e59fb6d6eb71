//! The sealed format end to end, with RustCrypto's AES-256-GCM standing in for WebCrypto's:
//! seal a file, name the sealed bytes, open them piece by piece in any order.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};

use super::{decode_meta, encode_meta, SealedLayout, ShareKey};
use crate::content::content_hasher::ContentHasher;
use crate::content::content_meta::ContentMeta;
use crate::content::piece_layout::{PieceLayout, PIECE_LEN};

/// The sealed bytes of `file` named by `meta`: what the browser's share computes.
fn seal(key: &ShareKey, meta: &ContentMeta, file: &[u8]) -> Vec<u8> {
    let mut plaintext = encode_meta(meta).unwrap();
    plaintext.extend_from_slice(file);
    let layout = SealedLayout::for_plain(plaintext.len() as u64).unwrap();
    let cipher = Aes256Gcm::new(key.bytes().into());
    let mut sealed = Vec::new();
    for index in 0..layout.blocks() {
        let plain = layout.plain_range(index).unwrap();
        let block = cipher
            .encrypt(
                Nonce::from_slice(&SealedLayout::nonce(index)),
                Payload {
                    msg: &plaintext[plain.start as usize..plain.end as usize],
                    aad: &layout.associated_data(index),
                },
            )
            .unwrap();
        sealed.extend_from_slice(SealedLayout::clear_prefix(index));
        sealed.extend_from_slice(&block);
    }
    assert_eq!(sealed.len() as u64, layout.sealed_len());
    sealed
}

/// Opens piece `index` of sealed content of `sealed_len` bytes: its plaintext, or `None` when
/// the key is wrong or the piece was changed.
fn open_piece(key: &ShareKey, sealed_len: u64, index: u32, piece: &[u8]) -> Option<Vec<u8>> {
    let layout = SealedLayout::of_sealed(sealed_len).unwrap();
    let block = &piece[SealedLayout::clear_prefix(index).len()..];
    Aes256Gcm::new(key.bytes().into())
        .decrypt(
            Nonce::from_slice(&SealedLayout::nonce(index)),
            Payload {
                msg: block,
                aad: &layout.associated_data(index),
            },
        )
        .ok()
}

fn pieces(sealed: &[u8]) -> Vec<&[u8]> {
    sealed.chunks(PIECE_LEN as usize).collect()
}

fn file(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 % 251) as u8).collect()
}

#[test]
fn a_sealed_file_opens_piece_by_piece_in_any_order() {
    let key = ShareKey::from_bytes([7; 32]);
    let meta = ContentMeta {
        name: Some("notes.txt".into()),
        mime: Some("text/plain".into()),
    };
    let original = file(3 * PIECE_LEN as usize + 12345);
    let sealed = seal(&key, &meta, &original);
    assert!(SealedLayout::is_sealed(&sealed));
    let (id, _) = {
        let mut hasher = ContentHasher::new(sealed.len() as u64).unwrap();
        hasher.update(&sealed).unwrap();
        hasher.finish().unwrap()
    };
    assert_eq!(PieceLayout::of(&id).piece_count(), 4);
    let pieces = pieces(&sealed);
    let mut opened: Vec<Vec<u8>> = vec![Vec::new(); pieces.len()];
    for index in [2, 0, 3, 1] {
        opened[index] = open_piece(&key, id.len(), index as u32, pieces[index]).unwrap();
    }
    let plaintext = opened.concat();
    let (read_meta, start) = decode_meta(&plaintext).unwrap();
    assert_eq!(read_meta, meta);
    assert_eq!(&plaintext[start..], &original[..]);
}

#[test]
fn the_name_is_not_in_the_sealed_bytes() {
    let key = ShareKey::from_bytes([9; 32]);
    let meta = ContentMeta {
        name: Some("secret-plans.pdf".into()),
        mime: None,
    };
    let sealed = seal(&key, &meta, b"the plans");
    let text = String::from_utf8_lossy(&sealed);
    assert!(!text.contains("secret-plans") && !text.contains("the plans"));
}

#[test]
fn a_wrong_key_or_a_changed_byte_opens_nothing() {
    let key = ShareKey::from_bytes([1; 32]);
    let sealed = seal(&key, &ContentMeta::default(), &file(3 * PIECE_LEN as usize));
    let pieces = pieces(&sealed);
    let len = sealed.len() as u64;
    assert!(open_piece(&ShareKey::from_bytes([2; 32]), len, 0, pieces[0]).is_none());
    let mut changed = pieces[1].to_vec();
    changed[3] ^= 1;
    assert!(open_piece(&key, len, 1, &changed).is_none());
    assert!(open_piece(&key, len, 1, pieces[1]).is_some());
    // A block moved to another index does not open either (the nonce is the index).
    assert!(open_piece(&key, len, 2, pieces[1]).is_none());
}

#[test]
fn an_empty_file_seals_to_one_short_piece() {
    let key = ShareKey::from_bytes([3; 32]);
    let sealed = seal(&key, &ContentMeta::default(), b"");
    assert_eq!(pieces(&sealed).len(), 1);
    let plaintext = open_piece(&key, sealed.len() as u64, 0, &sealed).unwrap();
    assert_eq!(decode_meta(&plaintext).unwrap().1, plaintext.len());
}
