//! Arbitrary bytes on a signaling stream decode to signals or a clear error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use peerfetch::signaling::message::SignalDecoder;

fuzz_target!(|data: &[u8]| {
    let mut decoder = SignalDecoder::default();
    decoder.push(data);
    while let Ok(Some(signal)) = decoder.next_message() {
        let mut again = SignalDecoder::default();
        again.push(&signal.encode());
        assert!(again.next_message().unwrap().is_some());
    }
});
