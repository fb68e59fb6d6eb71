//! Prints how fast this machine hashes and verifies content natively, as JSON: the native side
//! of the BLAKE3 figure in `scripts/bench.sh` (the wasm side runs `measureVerification`).

use std::time::Instant;

fn main() {
    let megabytes: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(256);
    let origin = Instant::now();
    let speed = peerfetch::content::verify_speed::measure(megabytes << 20, || {
        origin.elapsed().as_secs_f64()
    });
    println!("{}", serde_json::to_string(&speed).expect("serializable"));
}
