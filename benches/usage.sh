#!/usr/bin/env bash
# Times `samocoder usage` against a database of 1,000,000 recorded model calls (N=... to change).
# Builds release, seeds target/usage-bench/home once (examples/usage_bench.rs; delete the
# directory to reseed), then times each variant with hyperfine if installed, else a loop of 10.
set -euo pipefail
cd "$(dirname "$0")/.."
N="${N:-1000000}"
HOME_DIR="target/usage-bench/home-$N"
source benches/common.sh
build_release --example usage_bench
target/release/examples/usage_bench "$HOME_DIR" "$N"
BIN="$BIN --home $HOME_DIR"
variants=(
  "usage"
  "usage --by project"
  "usage --by day"
  "usage --by role --since 7d"
  "usage --since 24h --json"
  "usage --project p3 --model gpt-4.1 --since 30d --by day"
  "usage --since 2025-01-01 --until 2025-06-30 --csv"
)
if command -v hyperfine >/dev/null; then
  args=()
  for v in "${variants[@]}"; do args+=("$BIN $v"); done
  hyperfine -N --warmup 2 --runs 20 "${args[@]}"
else
  for v in "${variants[@]}"; do
    start=$(date +%s%N)
    for _ in $(seq 10); do $BIN $v >/dev/null; done
    end=$(date +%s%N)
    echo "$v: $(( (end - start) / 10000000 )) ms mean over 10 runs"
  done
fi
