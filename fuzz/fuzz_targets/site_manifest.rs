//! Arbitrary bytes as a site manifest parse to a manifest or a clear error, never a panic; what
//! parses writes back to JSON that parses to the same manifest.
#![no_main]

use libfuzzer_sys::fuzz_target;
use peerfetch::cdn::manifest::Manifest;

fuzz_target!(|data: &[u8]| {
    if let Ok(manifest) = Manifest::parse(data) {
        let again = Manifest::parse(manifest.to_json().as_bytes()).expect("our own JSON parses");
        assert_eq!(again, manifest);
    }
});
