//! Invariant violations the targets found in the crate and that are still open, each with its
//! reproducer under `fuzz/regressions/`. A target checks them like any invariant, but by default
//! tolerates a known one, so that fuzzing (and `scripts/fuzz.sh`) goes on to find new ones.
//! `PEERFETCH_FUZZ_STRICT=all` makes every one fail, `PEERFETCH_FUZZ_STRICT=AssembleTwice,…`
//! the ones named, to reproduce one or check a fix. Fixing one in the crate means deleting its
//! variant here, which makes its check strict again.

use std::sync::OnceLock;

/// A known, still open violation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Known {
    /// `ResourceSwarm` emits `Output::Assemble` again while the resource is being handed out:
    /// the download's `Event::Finished` sets the stage from `Assembling` back to `Writing`
    /// (`regressions/tab_sequence/assemble-twice-*`).
    AssembleTwice,
    /// `ResourceSwarm::peers()` keeps, for the life of the swarm, every peer that was linked
    /// while a download ran, even one that exchanged nothing (`record_received` stores zeros):
    /// peer ids are free, so one stranger relinking under new ids grows it without bound
    /// (`regressions/tab_sequence/peers-that-exchanged-nothing-*`).
    IdlePeersKept,
    /// A download asks peers for pieces the tab holds already: pieces the page shares
    /// (`Input::Hold`) while a download runs are not passed to the download, which goes on
    /// fetching and writing them (`regressions/tab_sequence/held-pieces-asked-*`).
    HeldPiecesAsked,
}

/// Whether a violation of `known` is let pass in this run.
pub fn tolerated(known: Known) -> bool {
    static STRICT: OnceLock<String> = OnceLock::new();
    let strict = STRICT.get_or_init(|| std::env::var("PEERFETCH_FUZZ_STRICT").unwrap_or_default());
    let name = format!("{known:?}");
    !(strict == "all" || strict.split(',').any(|s| s.trim() == name))
}
