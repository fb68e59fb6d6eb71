#!/usr/bin/env bash
# Runs every cargo-fuzz target in fuzz/ for FUZZ_SECONDS each (default 15), installing nightly
# Rust and cargo-fuzz if missing. A target with saved reproducers in fuzz/regressions/<target>/
# replays them first. Prints one line per target; a crash fails the script and leaves its input
# in fuzz/artifacts/. Nine targets at 15 s: about 2 min 15 s of fuzzing (the three stateful
# ones, *_sequence, added 45 s).
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
seconds=${FUZZ_SECONDS:-15}
rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --version 0.13.2 --locked
for target in $(cargo +nightly fuzz list --fuzz-dir .); do
  log=$(mktemp)
  regressions=()
  [ -d "regressions/$target" ] && regressions=(regressions/"$target"/*)
  if [ ${#regressions[@]} -gt 0 ] &&
    ! cargo +nightly fuzz run "$target" --fuzz-dir . "${regressions[@]}" >"$log" 2>&1; then
    grep -m1 -A2 'panicked at' "$log" || true
    tail -40 "$log"
    echo "fuzz target $target failed on a saved reproducer"
    exit 1
  fi
  if ! cargo +nightly fuzz run "$target" --fuzz-dir . -- -max_total_time="$seconds" >"$log" 2>&1; then
    grep -m1 -A2 'panicked at' "$log" || true
    tail -40 "$log"
    echo "fuzz target $target failed"
    exit 1
  fi
  echo "fuzz $target: $(grep -o 'Done [0-9]* runs in [0-9]* second(s)' "$log")"
  rm -f "$log"
done
