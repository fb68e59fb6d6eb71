//! The sealed format end to end, with RustCrypto's AES-256-GCM standing in for WebCrypto's:
//! seal a file the way the browser's share does (the same layout calls), name the sealed bytes,
//! open them piece by piece in any order; and what must not open.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};

use super::{check_header, decode_meta, encode_meta, header, HeaderError, SealedLayout, ShareKey};
use crate::content::content_hasher::ContentHasher;
use crate::content::content_meta::ContentMeta;
use crate::content::piece_layout::{PieceLayout, PIECE_LEN};

/// The sealed bytes of `file` named by `meta`, block by block as `share_source.rs` makes them.
fn seal(key: &ShareKey, meta: &ContentMeta, file: &[u8]) -> Vec<u8> {
    let meta = encode_meta(meta).unwrap();
    let layout = SealedLayout::for_plain((meta.len() + file.len()) as u64).unwrap();
    let cipher = Aes256Gcm::new(key.bytes().into());
    let mut sealed = header(key).to_vec();
    for index in 0..layout.blocks() {
        let (meta_part, file_part) = layout.block_parts(index, meta.len() as u64).unwrap();
        let block = [
            &meta[meta_part],
            &file[file_part.start as usize..file_part.end as usize],
        ]
        .concat();
        let payload = Payload {
            msg: &block,
            aad: &layout.associated_data(index),
        };
        let nonce = SealedLayout::nonce(index);
        sealed.extend_from_slice(&cipher.encrypt(Nonce::from_slice(&nonce), payload).unwrap());
    }
    assert_eq!(sealed.len() as u64, layout.sealed_len());
    sealed
}

/// Opens piece `index` of sealed content of `sealed_len` bytes: its plaintext, or `None` when
/// the piece was changed, moved or cut.
fn open_piece(key: &ShareKey, sealed_len: u64, index: u32, piece: &[u8]) -> Option<Vec<u8>> {
    let layout = SealedLayout::of_sealed(sealed_len).ok()?;
    let block = &piece[SealedLayout::header_len(index)..];
    let payload = Payload {
        msg: block,
        aad: &layout.associated_data(index),
    };
    let nonce = SealedLayout::nonce(index);
    Aes256Gcm::new(key.bytes().into())
        .decrypt(Nonce::from_slice(&nonce), payload)
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
    assert_eq!(check_header(&sealed, &key), Ok(()));
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
fn the_name_and_the_bytes_are_not_in_the_sealed_content() {
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
fn a_wrong_key_is_known_from_the_header_and_opens_nothing() {
    let key = ShareKey::from_bytes([1; 32]);
    let sealed = seal(&key, &ContentMeta::default(), &file(PIECE_LEN as usize));
    let other = ShareKey::from_bytes([2; 32]);
    assert_eq!(check_header(&sealed, &other), Err(HeaderError::WrongKey));
    assert!(open_piece(&other, sealed.len() as u64, 0, pieces(&sealed)[0]).is_none());
}

#[test]
fn a_changed_moved_or_cut_block_does_not_open() {
    let key = ShareKey::from_bytes([1; 32]);
    let sealed = seal(&key, &ContentMeta::default(), &file(3 * PIECE_LEN as usize));
    let pieces = pieces(&sealed);
    let len = sealed.len() as u64;
    assert_eq!(pieces.len(), 4);
    assert!(open_piece(&key, len, 1, pieces[1]).is_some());
    // A sharer's forgery: the first block opens, a later one does not.
    let mut changed = pieces[1].to_vec();
    changed[3] ^= 1;
    assert!(open_piece(&key, len, 1, &changed).is_none());
    // The nonce is the index: a block moved to another index does not open.
    assert!(open_piece(&key, len, 2, pieces[1]).is_none());
    // Cut after three whole pieces, the third is taken for the last and does not open.
    let cut = 3 * PIECE_LEN;
    assert!(open_piece(&key, cut, 2, pieces[2]).is_none());
}

#[test]
fn an_empty_file_seals_to_one_short_piece() {
    let key = ShareKey::from_bytes([3; 32]);
    let sealed = seal(&key, &ContentMeta::default(), b"");
    assert_eq!(pieces(&sealed).len(), 1);
    let plaintext = open_piece(&key, sealed.len() as u64, 0, &sealed).unwrap();
    assert_eq!(decode_meta(&plaintext).unwrap().1, plaintext.len());
}
