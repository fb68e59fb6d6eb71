//! Arbitrary bytes on a swarm stream decode to messages or a clear error, never a panic; what
//! decodes re-encodes to a message that decodes the same.
#![no_main]

use libfuzzer_sys::fuzz_target;
use peerfetch::swarm::message::SwarmDecoder;

fuzz_target!(|data: &[u8]| {
    let mut decoder = SwarmDecoder::default();
    decoder.push(data);
    while let Ok(Some(message)) = decoder.next_message() {
        let mut again = SwarmDecoder::default();
        again.push(&message.encode());
        assert_eq!(again.next_message().unwrap(), Some(message));
    }
});
