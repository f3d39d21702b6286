#!/usr/bin/env bash
# Fuzzes the log parsers, the policy parser, Accept-Language and every JSON body with
# cargo-fuzz (libFuzzer) on the nightly toolchain, each target for SECONDS (default
# 60), and prints each target's executions and whether it found a crash. Installs
# cargo-fuzz and the nightly toolchain when missing. Crashes land in
# fuzz/artifacts/TARGET/. Not part of the test suite: see docs/RELIABILITY.md.
#
# Usage: scripts/fuzz.sh [SECONDS] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(log_line policy_file accept_language json_bodies)

rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked

for target in "${targets[@]}"; do
  mkdir -p "fuzz/corpus/$target"
  log=$(mktemp)
  status=0
  cargo +nightly fuzz run "$target" -- -max_total_time="$seconds" -rss_limit_mb=4096 \
    >"$log" 2>&1 || status=$?
  runs=$(grep -Eo 'Done [0-9]+ runs' "$log" | tail -1 | grep -Eo '[0-9]+' || echo "?")
  if [ "$status" = 0 ]; then
    echo "$target: $runs executions in ${seconds} s, 0 crashes"
  else
    echo "$target: CRASH (exit $status); see fuzz/artifacts/$target/ and the log below"
    tail -40 "$log"
  fi
  rm -f "$log"
done
