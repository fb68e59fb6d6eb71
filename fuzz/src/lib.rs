//! The harness shared by the stateful fuzz targets: they drive the tab's sans-IO state machines
//! (the download, the upload queue, the tab's swarms) with arbitrary sequences of inputs and time
//! jumps, and check invariants after every step.
//!
//! - [`resource`]: small real resources, hashed once, whose true bytes, wire encodings and
//!   stored forms are the oracle for "nothing unverified is accepted".
//! - [`peer_says`]: what a (possibly hostile) peer says, as arbitrary choices turned into real
//!   [`SwarmMessage`](peerfetch::swarm::message::SwarmMessage)s: genuine, corrupted, mismatched
//!   or unsolicited pieces, bitfields of any shape, rejects, requests, `Want`s.
//! - [`ledger`]: the requests this tab has open at each peer, as seen from outside, so a peer
//!   can answer them (or not) and the state machine's view can be checked against it.
//! - [`clock`]: time that only moves forward, in jumps the fuzzer picks.

pub mod clock;
pub mod ledger;
pub mod peer_says;
pub mod resource;
