#!/usr/bin/env bash
# Remakes linker/samocoder.order: the functions common commands run, which release builds link
# first and together (build.rs passes it to LLD; docs/link-order.md says why). Run it after a
# rustc update, a Cargo.lock change or a large change to what `ask`, `new` or `usage` run (the
# release build warns when the rustc or Cargo.lock differ), then rebuild and rerun benches/ask.sh.
#
#   scripts/link-order.sh       # needs valgrind and python3; a release build plus ~2 minutes
#
# Profiles, in this order (the first one's functions come first): `ask` over the OpenAI wire,
# `ask` over the Anthropic wire, the todo example replayed through `new` (plan, code, tests,
# checkpoints), then `usage`, `projects`, `show`, `log`, `export` and `--help`. Every run is
# against the fake provider on 127.0.0.1 in a temporary home: no key, no network.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || { echo "needs valgrind (Debian: apt-get install valgrind)" >&2; exit 1; }

WORK="$(mktemp -d)"
FAKE_PID=
trap '[ -n "$FAKE_PID" ] && kill "$FAKE_PID" 2>/dev/null; rm -rf "$WORK"' EXIT

# The release binary exactly as `cargo build --release` makes it, plus LLD's map of it, which
# names every address although the binary is stripped (mangled names: the order file needs
# them). Both flags are link arguments of the binary alone, so no symbol changes. The examples
# are built apart from it (see benches/common.sh).
cargo rustc --release --locked --quiet --bin samocoder -- -C link-arg=-Wl,--no-demangle \
  -C link-arg=-Wl,-Map="$WORK/samocoder.map"
cargo build --release --locked --quiet --bin samocoder-sandbox
cargo build --release --locked --quiet --example fake_provider --example link_order
BIN="$PWD/target/release/samocoder"
FAKE="$PWD/target/release/examples/fake_provider"

source benches/common.sh
mkdir -p "$WORK/home"
start_fake "$WORK/home"
cat >>"$WORK/home/config.toml" <<TOML

[providers.fakeant]
kind = "anthropic"
base_url = "$BASE"
key_env = "FAKE_KEY"
free = true

[models."fake:m1"]
context_window = 128000

[models."fakeant:m1"]
context_window = 200000
TOML
export SAMOCODER_HOME="$WORK/home" FAKE_KEY="sk-profile-0123456789abcdef" NO_COLOR=1
"$BIN" ask "warm up" >/dev/null  # creates the database: the profiles see the steady state

profiles=()
profile() {
  local n=${#profiles[@]}
  valgrind --tool=callgrind --dump-instr=yes --compress-strings=no --compress-pos=no \
    --callgrind-out-file="$WORK/profile.$n" "$@" >/dev/null 2>"$WORK/valgrind.$n" || {
    echo "profiling failed: $*" >&2; tail -5 "$WORK/valgrind.$n" >&2; exit 1; }
  profiles+=("$WORK/profile.$n")
}
profile "$BIN" ask "say hi"
profile "$BIN" ask --model fakeant:m1 "say hi"
profile "$BIN" new --replay examples/todo/cassette.jsonl --yes --dir "$WORK/todo"
profile "$BIN" usage
profile "$BIN" projects
profile "$BIN" show todo
profile "$BIN" log todo
profile "$BIN" export todo -o "$WORK/todo.zip"
profile "$BIN" --help

target/release/examples/link_order --map "$WORK/samocoder.map" --rustc "$(rustc -V)" \
  --lock Cargo.lock "${profiles[@]}" >"$WORK/order"
mv "$WORK/order" linker/samocoder.order
echo "linker/samocoder.order: $(grep -vc '^#' linker/samocoder.order) functions; now: cargo build --release"
