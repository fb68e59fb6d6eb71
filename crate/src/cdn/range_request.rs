//! Answering a request's `Range` header (video seeking) from a resource of known length.

use std::ops::Range;

/// What part of a resource to answer with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RangeAnswer {
    /// No (usable) `Range` header: all of it, `200`.
    Whole,
    /// One range: `206` with `Content-Range`.
    Partial(Range<u64>),
    /// A range past the end: `416`.
    Unsatisfiable,
}

/// The answer to a request with `Range` header `header` (if any) for `len` bytes. Several
/// ranges at once, and any range of an empty resource (it has no byte to point at), are
/// answered with the whole resource, as RFC 9110 allows.
pub fn answer_range(header: Option<&str>, len: u64) -> RangeAnswer {
    let Some(header) = header.filter(|_| len > 0) else {
        return RangeAnswer::Whole;
    };
    let Ok(parsed) = http_range_header::parse_range_header(header) else {
        return RangeAnswer::Whole;
    };
    match parsed.validate(len) {
        Ok(ranges) if ranges.len() == 1 => {
            RangeAnswer::Partial(*ranges[0].start()..*ranges[0].end() + 1)
        }
        Ok(_) => RangeAnswer::Whole,
        Err(_) => RangeAnswer::Unsatisfiable,
    }
}

/// The `Content-Range` header of a `206` answer holding `range` of `len` bytes.
pub fn content_range(range: &Range<u64>, len: u64) -> String {
    format!("bytes {}-{}/{len}", range.start, range.end - 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_ranges() {
        assert_eq!(answer_range(None, 100), RangeAnswer::Whole);
        assert_eq!(
            answer_range(Some("bytes=0-"), 100),
            RangeAnswer::Partial(0..100)
        );
        assert_eq!(
            answer_range(Some("bytes=10-19"), 100),
            RangeAnswer::Partial(10..20)
        );
        assert_eq!(
            answer_range(Some("bytes=-10"), 100),
            RangeAnswer::Partial(90..100)
        );
        assert_eq!(
            answer_range(Some("bytes=90-500"), 100),
            RangeAnswer::Partial(90..100)
        );
        assert_eq!(
            answer_range(Some("bytes=100-"), 100),
            RangeAnswer::Unsatisfiable
        );
        assert_eq!(answer_range(Some("bytes=0-1,5-6"), 100), RangeAnswer::Whole);
        assert_eq!(answer_range(Some("pages=1"), 100), RangeAnswer::Whole);
        // Found by the `http_ranges` fuzz target: an empty resource has no range to answer.
        assert_eq!(answer_range(Some("bytes=0-"), 0), RangeAnswer::Whole);
        assert_eq!(answer_range(Some("bytes=-1"), 0), RangeAnswer::Whole);
        assert_eq!(content_range(&(10..20), 100), "bytes 10-19/100");
    }
}
