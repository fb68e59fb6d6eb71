//! What to ask the origin for when peers did not deliver a resource in time: the byte ranges of
//! the pieces still missing, adjacent ones merged into one `Range` request; and reading the
//! origin's `Content-Range` answer.

use std::ops::Range;

use crate::content::bitfield::Bitfield;
use crate::content::piece_layout::PieceLayout;

/// Byte ranges of the pieces `have` lacks, in order, adjacent pieces merged.
pub fn missing_ranges(layout: &PieceLayout, have: &Bitfield) -> Vec<Range<u64>> {
    let mut ranges: Vec<Range<u64>> = Vec::new();
    for index in (0..layout.piece_count()).filter(|i| !have.contains(*i)) {
        let bytes = layout.piece_bytes(index).expect("index below the count");
        match ranges.last_mut() {
            Some(last) if last.end == bytes.start => last.end = bytes.end,
            _ => ranges.push(bytes),
        }
    }
    ranges
}

/// The `Range` request header asking for `range`.
pub fn range_header(range: &Range<u64>) -> String {
    format!("bytes={}-{}", range.start, range.end - 1)
}

/// The byte range a `Content-Range: bytes <first>-<last>/<len>` header says a `206` answer
/// holds, if it is well formed and its total length is `len` (or unknown, `*`).
pub fn parse_content_range(header: &str, len: u64) -> Option<Range<u64>> {
    let spec = header.trim().strip_prefix("bytes ")?;
    let (range, total) = spec.split_once('/')?;
    if total != "*" && total.parse::<u64>().ok()? != len {
        return None;
    }
    let (first, last) = range.split_once('-')?;
    let (first, last): (u64, u64) = (first.parse().ok()?, last.parse().ok()?);
    (first <= last && last < len).then_some(first..last + 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::content::piece_layout::PIECE_LEN;

    #[test]
    fn merges_adjacent_missing_pieces() {
        let layout = PieceLayout::with_len(5 * PIECE_LEN + 10);
        let mut have = Bitfield::empty(6);
        assert_eq!(missing_ranges(&layout, &have), vec![(0..layout.len())]);
        have.insert(1);
        have.insert(4);
        assert_eq!(
            missing_ranges(&layout, &have),
            [
                0..PIECE_LEN,
                2 * PIECE_LEN..4 * PIECE_LEN,
                5 * PIECE_LEN..layout.len()
            ]
        );
        assert!(missing_ranges(&layout, &Bitfield::full(6)).is_empty());
        assert_eq!(range_header(&(2..12)), "bytes=2-11");
    }

    #[test]
    fn reads_content_range() {
        assert_eq!(parse_content_range("bytes 0-99/1000", 1000), Some(0..100));
        assert_eq!(
            parse_content_range("bytes 900-999/*", 1000),
            Some(900..1000)
        );
        for bad in [
            "bytes 0-99/999",
            "bytes 0-1000/1000",
            "bytes 5-4/1000",
            "items 0-1/1000",
            "bytes */1000",
            "bytes x-1/1000",
        ] {
            assert_eq!(parse_content_range(bad, 1000), None, "{bad}");
        }
    }
}
