//! Answering a `Range` request before the whole resource is held, sans-IO.
//!
//! A video element asks for ranges (`bytes=0-` to start, `bytes=N-` when it seeks); a page
//! asking for one byte of a resource not held must not wait for all of it. An [`EarlyRange`]
//! says which pieces the range needs (the download asks for them first, in order) and, from
//! the pieces held, what can be answered already:
//! - a bounded range (`bytes=A-B`, `bytes=-N`) once every piece it covers is held;
//! - an open range (`bytes=N-`, to the end) as soon as its first piece is held, with the run of
//!   held pieces from there, at most [`MAX_EARLY_ANSWER`] bytes: a `206` whose `Content-Range`
//!   ends before the resource does, after which the reader asks for the rest (a `206` says
//!   which bytes it holds, and RFC 9110 §15.3.7 lets a server send fewer than were asked for;
//!   media players read that way).

use std::ops::Range;

use crate::content::bitfield::Bitfield;
use crate::content::piece_layout::{PieceLayout, PIECE_LEN};

use super::range_request::{answer_range, RangeAnswer};

/// Most bytes an open range is answered with before the resource is held whole.
pub const MAX_EARLY_ANSWER: u64 = 8 * PIECE_LEN;

/// A `Range` request that may be answered before the resource is held whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EarlyRange {
    wanted: Range<u64>,
    open: bool,
    layout: PieceLayout,
}

impl EarlyRange {
    /// The early answer to `header` for a resource laid out as `layout`: `None` when the
    /// request asks for a bounded range of all of it (or for nothing it has), which is
    /// answered the usual way. `bytes=0-` is an open range: a player's first request.
    pub fn new(header: &str, layout: PieceLayout) -> Option<Self> {
        let RangeAnswer::Partial(wanted) = answer_range(Some(header), layout.len()) else {
            return None;
        };
        let open = header.trim_end().ends_with('-') && !header.contains(',');
        if !open && wanted == (0..layout.len()) {
            return None;
        }
        Some(Self {
            wanted,
            open,
            layout,
        })
    }

    /// The pieces the answer needs, in reading order: for an open range, those of its first
    /// [`MAX_EARLY_ANSWER`] bytes.
    pub fn pieces(&self) -> Range<u32> {
        let end = self.span_end();
        self.layout.piece_of(self.wanted.start)..self.layout.piece_of(end - 1) + 1
    }

    /// The end of the bytes an early answer may hold: all of a bounded range, at most
    /// [`MAX_EARLY_ANSWER`] bytes of an open one.
    fn span_end(&self) -> u64 {
        if self.open {
            self.wanted.end.min(self.wanted.start + MAX_EARLY_ANSWER)
        } else {
            self.wanted.end
        }
    }

    /// What to ask the origin when peers gave up before the pieces came (the whole resource
    /// is then on its way from the origin too): `None` to wait for it, when it is no larger
    /// than one early answer; else the `Range` header to send the origin, the range itself
    /// (an open one bounded like an early answer).
    pub fn origin_range(&self) -> Option<String> {
        if self.layout.len() <= MAX_EARLY_ANSWER {
            return None;
        }
        Some(format!(
            "bytes={}-{}",
            self.wanted.start,
            self.span_end() - 1
        ))
    }

    /// The bytes that can be answered now that `have` is held, if any.
    pub fn answerable(&self, have: &Bitfield) -> Option<Range<u64>> {
        let pieces = self.pieces();
        let held = pieces
            .clone()
            .take_while(|piece| have.contains(*piece))
            .count() as u32;
        let complete = held == pieces.len() as u32;
        if held == 0 || !(complete || self.open) {
            return None;
        }
        let last = pieces.start + held - 1;
        let held_end = self.layout.piece_bytes(last)?.end;
        Some(self.wanted.start..self.span_end().min(held_end))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: u64 = PIECE_LEN;

    /// A resource of ten and a half pieces.
    fn layout() -> PieceLayout {
        PieceLayout::with_len(10 * P + P / 2)
    }

    fn held(pieces: &[u32]) -> Bitfield {
        let mut have = Bitfield::empty(layout().piece_count());
        for piece in pieces {
            have.insert(*piece);
        }
        have
    }

    #[test]
    fn the_whole_resource_or_no_usable_range_is_answered_the_usual_way() {
        let len = layout().len();
        for header in [
            format!("bytes=0-{}", len - 1),
            "bytes=0-1,5-6".to_owned(),
            "pages=1".to_owned(),
            format!("bytes={len}-"),
        ] {
            assert_eq!(EarlyRange::new(&header, layout()), None, "{header}");
        }
    }

    #[test]
    fn a_bounded_range_is_answered_once_every_piece_it_covers_is_held() {
        let range = EarlyRange::new(&format!("bytes={}-{}", P + 10, 3 * P + 9), layout()).unwrap();
        assert_eq!(range.pieces(), 1..4);
        assert_eq!(range.answerable(&held(&[0, 1, 2])), None);
        assert_eq!(range.answerable(&held(&[2, 3])), None);
        assert_eq!(
            range.answerable(&held(&[1, 2, 3])),
            Some(P + 10..3 * P + 10)
        );
        // One byte needs one piece.
        let byte = EarlyRange::new("bytes=5-5", layout()).unwrap();
        assert_eq!(byte.pieces(), 0..1);
        assert_eq!(byte.answerable(&held(&[0])), Some(5..6));
        // The last bytes (a suffix range) need the last piece only.
        let suffix = EarlyRange::new("bytes=-100", layout()).unwrap();
        assert_eq!(suffix.pieces(), 10..11);
        let len = layout().len();
        assert_eq!(suffix.answerable(&held(&[10])), Some(len - 100..len));
    }

    #[test]
    fn the_origin_is_asked_for_the_range_only_of_a_resource_larger_than_an_early_answer() {
        let small = PieceLayout::with_len(MAX_EARLY_ANSWER);
        assert_eq!(
            EarlyRange::new("bytes=10-", small).unwrap().origin_range(),
            None
        );
        let big = PieceLayout::with_len(100 * P);
        let open = EarlyRange::new(&format!("bytes={P}-"), big).unwrap();
        assert_eq!(
            open.origin_range(),
            Some(format!("bytes={P}-{}", P + MAX_EARLY_ANSWER - 1))
        );
        let bounded = EarlyRange::new("bytes=10-19", big).unwrap();
        assert_eq!(bounded.origin_range(), Some("bytes=10-19".to_owned()));
        let suffix = EarlyRange::new("bytes=-10", big).unwrap();
        let len = big.len();
        assert_eq!(
            suffix.origin_range(),
            Some(format!("bytes={}-{}", len - 10, len - 1))
        );
    }

    #[test]
    fn an_open_range_is_answered_from_its_first_piece_with_the_run_held_from_there() {
        let range = EarlyRange::new(&format!("bytes={}-", P + 7), layout()).unwrap();
        assert_eq!(
            range.pieces(),
            1..10,
            "its first eight pieces' worth of bytes"
        );
        assert_eq!(range.answerable(&held(&[0, 2, 3])), None);
        assert_eq!(range.answerable(&held(&[1, 3])), Some(P + 7..2 * P));
        assert_eq!(range.answerable(&held(&[1, 2, 4])), Some(P + 7..3 * P));
        let all: Vec<u32> = (0..11).collect();
        assert_eq!(
            range.answerable(&held(&all)),
            Some(P + 7..P + 7 + MAX_EARLY_ANSWER)
        );
        // A player's first request.
        let start = EarlyRange::new("bytes=0-", layout()).unwrap();
        assert_eq!(start.pieces(), 0..8);
        assert_eq!(start.answerable(&held(&[0])), Some(0..P));
        // Near the end, up to the end.
        let tail = EarlyRange::new(&format!("bytes={}-", 9 * P), layout()).unwrap();
        assert_eq!(tail.pieces(), 9..11);
        assert_eq!(
            tail.answerable(&held(&[9, 10])),
            Some(9 * P..layout().len())
        );
    }
}
