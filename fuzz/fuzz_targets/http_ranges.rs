//! Arbitrary `Range` and `Content-Range` headers never panic, and whatever range they are read
//! as lies within the resource and is not empty.
#![no_main]

use libfuzzer_sys::fuzz_target;
use peerfetch::cdn::origin_ranges::parse_content_range;
use peerfetch::cdn::range_request::{answer_range, RangeAnswer};

fuzz_target!(|input: (u64, &str)| {
    let (len, header) = input;
    if let RangeAnswer::Partial(range) = answer_range(Some(header), len) {
        assert!(
            range.start < range.end && range.end <= len,
            "{header:?} {len}: {range:?}"
        );
    }
    if let Some(range) = parse_content_range(header, len) {
        assert!(
            range.start < range.end && range.end <= len,
            "{header:?} {len}: {range:?}"
        );
    }
});
