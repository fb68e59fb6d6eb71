//! Arbitrary bytes on the server's rendezvous stream decode to a request or a clear error (with
//! the answer the protocol gives, if any), never a panic; a decoded request survives encoding.
#![no_main]

use libfuzzer_sys::fuzz_target;
use peerfetch::wire::{length_prefixed::MessageDecoder, rendezvous_wire::Request};

fuzz_target!(|data: &[u8]| {
    let mut decoder = MessageDecoder::<Request>::default();
    decoder.push(data);
    match decoder.next_message() {
        Ok(Some(request)) => {
            let mut again = MessageDecoder::<Request>::default();
            again.push(&request.encode());
            assert_eq!(again.next_message().unwrap(), Some(request));
        }
        Ok(None) => {}
        Err(error) => {
            let _ = error.answer().map(|answer| answer.encode());
        }
    }
});
