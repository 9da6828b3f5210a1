#!/usr/bin/env bash
# Remakes linker/samocoder.order: the functions common commands run, which release builds link
# first and together (build.rs passes it to LLD; docs/link-order.md says why). Run it after a
# rustc update, a Cargo.lock change or a large change to what `ask`, `new` or `usage` run (the
# release build warns when the rustc or Cargo.lock differ), then rebuild and rerun benches/ask.sh.
#
#   scripts/link-order.sh       # needs valgrind; two release links and profiles, ~5 minutes
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

# The examples are built apart from the binary (see benches/common.sh).
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
export FAKE_KEY="sk-profile-0123456789abcdef" NO_COLOR=1

profile() {
  local n=${#profiles[@]}
  valgrind --tool=callgrind --dump-instr=yes --compress-strings=no --compress-pos=no \
    --callgrind-out-file="$WORK/profile.$n" "$@" >/dev/null 2>"$WORK/valgrind.$n" || {
    echo "profiling failed: $*" >&2; tail -5 "$WORK/valgrind.$n" >&2; exit 1; }
  profiles+=("$WORK/profile.$n")
}

# Two passes: a new list makes build.rs run again, and the build after it renames the
# thin-LTO-promoted functions of one module (their `.llvm.<hash>` suffix), which the first list
# then misses (about 100 names, 0.7 MB more code resident for `ask`). The second pass profiles
# a build made with the list in place; a list made from it names what the next build links.
for pass in 1 2; do
  # The release binary exactly as `cargo build --release` makes it, plus LLD's map of it, which
  # names every address although the binary is stripped (mangled names: the order file needs
  # them). Both flags are link arguments of the binary alone, so no symbol changes.
  cargo rustc --release --locked --quiet --bin samocoder -- -C link-arg=-Wl,--no-demangle \
    -C link-arg=-Wl,-Map="$WORK/samocoder.map"
  # Each pass in a home of its own; the first ask creates the database, so the profiles see
  # the steady state.
  export SAMOCODER_HOME="$WORK/home$pass"
  mkdir -p "$SAMOCODER_HOME" && cp "$WORK/home/config.toml" "$SAMOCODER_HOME/"
  "$BIN" ask "warm up" >/dev/null
  profiles=()
  profile "$BIN" ask "say hi"
  profile "$BIN" ask --model fakeant:m1 "say hi"
  profile "$BIN" new --replay examples/todo/cassette.jsonl --yes --dir "$WORK/todo$pass"
  profile "$BIN" usage
  profile "$BIN" projects
  profile "$BIN" show todo
  profile "$BIN" log todo
  profile "$BIN" export todo -o "$WORK/todo$pass.zip"
  profile "$BIN" --help
  target/release/examples/link_order --map "$WORK/samocoder.map" --rustc "$(rustc -V)" \
    --lock Cargo.lock "${profiles[@]}" >"$WORK/order"
  mv "$WORK/order" linker/samocoder.order
done
echo "linker/samocoder.order: $(grep -vc '^#' linker/samocoder.order) functions; now: cargo build --release"
